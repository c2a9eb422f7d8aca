/**
 * Delivery Lambda, on three queues: the gateway's FIFO delivery queue (smart host or the next
 * gateway, body streamed from the mailbag), its FIFO push queue (postoffices' own servers), and
 * its standard retry queue (a deferred job that is due goes back in line: core/retry.ts).
 * A batch is one delivery line (core/deliver-line.ts): reads ahead, sends in order, stores each
 * outcome while the next message is sent, and lets a job leave its queue once that is stored.
 */
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { type Attempt, deliveryKeys } from "../../core/deliver.ts";
import { type DeliveryLine, deliveryLine, type LineEntry } from "../../core/deliver-line.ts";
import {
  type DeliverJob,
  parseDeliverJob,
  parseJson,
  parseRetryJob,
  parseStatus,
  type RetryJob,
} from "../../core/envelope.ts";
import { releaseRetry } from "../../core/retry.ts";
import { bouncedEvent, deliveryEvents } from "../shared/events.ts";
import { log } from "../shared/log.ts";
import { fifoBatch, type RuntimeContext, withRuntime } from "../shared/middleware.ts";
import type { Runtime } from "../shared/runtime.ts";

/** A record of the batch, read and (for a delivery job) with its reads started. */
type Ahead =
  | { readonly retry: RetryJob }
  | { readonly entry: LineEntry; readonly line: DeliveryLine }
  | { readonly error: unknown };

function readAhead(runtime: Runtime) {
  const line = deliveryLine();
  return {
    prepare(record: SQSRecord): Ahead {
      try {
        const body = parseJson("delivery job", record.body);
        if ((body as { due?: unknown } | null)?.due !== undefined)
          return { retry: parseRetryJob(body) };
        const job: DeliverJob = parseDeliverJob(body);
        const deps = runtime.deliverDeps(job.gateway, job.postoffice);
        const first = record.attributes.ApproximateReceiveCount === "1";
        return { entry: line.prepare(deps, job, first), line };
      } catch (error) {
        return { error };
      }
    },
    discard(ahead: Ahead) {
      if ("entry" in ahead) line.discard(ahead.entry);
    },
  };
}

export const handler = middy<SQSEvent, SQSBatchResponse, Error, RuntimeContext>()
  .use(withRuntime())
  .handler(
    fifoBatch(
      "deliver",
      async (_record, runtime, ahead: Ahead | undefined) => {
        if (!ahead) throw new Error("delivery record without read-ahead");
        if ("error" in ahead) throw ahead.error;
        if ("retry" in ahead) {
          const job = ahead.retry;
          const state = await releaseRetry(runtime.retryDeps(job.gateway), job);
          return log.info(`retry-${state}`, { id: job.id, due: job.due, attempt: job.attempt });
        }
        const { job, deps } = ahead.entry;
        const since = Date.now();
        let attempt: Attempt;
        try {
          attempt = await ahead.line.deliver(ahead.entry);
        } catch (err) {
          // The line is held (next hop unreachable): each recipient's `deferred` all the same.
          const raw = await deps.store.getJson(deliveryKeys(job).status).catch(() => undefined);
          if (raw !== undefined) deliveryEvents(job, parseStatus(raw), since);
          throw err;
        }
        const { outcome } = attempt;
        if (outcome.abandoned)
          return log.warn("delivery-abandoned", { id: job.id, gateway: job.gateway });
        const durable = attempt.durable.then(() => {
          deliveryEvents(job, outcome.status, since);
          for (const r of outcome.reports) {
            if (r.kind === "failed") log.error("report-failed", { id: job.id, error: r.error });
            else if (r.kind === "sent") bouncedEvent(job, r.id, r.recipients);
          }
        });
        return { durable };
      },
      readAhead,
    ),
  );
