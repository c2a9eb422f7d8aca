/**
 * Delivery Lambda, on three queues: the gateway's FIFO delivery queue (smart host or the next
 * gateway, body streamed from the mailbag), its FIFO push queue (postoffices' own servers), and
 * its standard retry queue (a deferred job that is due goes back in line: core/retry.ts).
 */
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { deliverMessage, deliveryKeys } from "../../core/deliver.ts";
import { parseDeliverJob, parseJson, parseRetryJob, parseStatus } from "../../core/envelope.ts";
import { releaseRetry } from "../../core/retry.ts";
import { bouncedEvent, deliveryEvents } from "../shared/events.ts";
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
      const deps = runtime.deliverDeps(job.gateway, job.postoffice);
      const since = Date.now();
      let outcome: Awaited<ReturnType<typeof deliverMessage>>;
      try {
        outcome = await deliverMessage(deps, job);
      } catch (err) {
        // The line is held (next hop unreachable): each recipient's `deferred` all the same.
        const raw = await deps.store.getJson(deliveryKeys(job).status).catch(() => undefined);
        if (raw !== undefined) deliveryEvents(job, parseStatus(raw), since);
        throw err;
      }
      deliveryEvents(job, outcome.status, since);
      for (const r of outcome.reports) {
        if (r.kind === "failed") log.error("report-failed", { id: job.id, error: r.error });
        else if (r.kind === "sent") bouncedEvent(job, r.id, r.recipients);
      }
    }),
  );
