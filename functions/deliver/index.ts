/**
 * Delivery Lambda, on three queues: the gateway's FIFO delivery queue (smart host or the next
 * gateway, body streamed from the mailbag), its FIFO push queue (postoffices' own servers), and
 * its standard retry queue (a deferred job that is due goes back in line: core/retry.ts).
 */
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { deliverMessage } from "../../core/deliver.ts";
import { parseDeliverJob, parseJson, parseRetryJob } from "../../core/envelope.ts";
import { releaseRetry } from "../../core/retry.ts";
import { log } from "../shared/log.ts";
import { fifoBatch, type RuntimeContext, withRuntime } from "../shared/middleware.ts";

export const handler = middy<SQSEvent, SQSBatchResponse, Error, RuntimeContext>()
  .use(withRuntime())
  .handler(
    fifoBatch("deliver", async (record, runtime) => {
      const body = parseJson("delivery job", record.body);
      if ((body as { due?: unknown } | null)?.due !== undefined) {
        const job = parseRetryJob(body);
        const state = await releaseRetry(runtime.retryDeps(job.gateway), job);
        return log.info(`retry-${state}`, { id: job.id, due: job.due, attempt: job.attempt });
      }
      const job = parseDeliverJob(body);
      const outcome = await deliverMessage(runtime.deliverDeps(job.gateway, job.postoffice), job);
      const { postoffice } = job;
      log.info("delivered", { id: job.id, postoffice, recipients: outcome.status.recipients });
      for (const r of outcome.reports) {
        if (r.kind === "failed") log.error("report-failed", { id: job.id, error: r.error });
        else if (r.kind === "sent")
          log.info("report-sent", { id: job.id, report: r.id, to: r.recipients });
      }
    }),
  );
