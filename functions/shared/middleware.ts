/** middy plumbing shared by the SQS handlers. */
import type { MiddlewareObj } from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { holdSeconds } from "../../core/config-delivery.ts";
import { countFailure, deadLetter, isPermanent, mailIdOf } from "../../core/dead-letter.ts";
import { isMailbagError } from "../../core/errors.ts";
import { gatewayResources, type QueueRole } from "../../core/names.ts";
import { EVENTS, metric } from "./events.ts";
import { type Processed, processFifoBatch, type ReadAhead } from "./fifo-batch.ts";
import { describeError, log } from "./log.ts";
import { lambdaRuntime, type Runtime } from "./runtime.ts";

export interface RuntimeContext extends Context {
  runtime: Runtime;
}

/** Puts the (cold-start cached) runtime on the context before the handler runs. */
export function withRuntime(): MiddlewareObj<SQSEvent, SQSBatchResponse, Error, RuntimeContext> {
  return {
    before: async (request) => {
      request.context.runtime = await lambdaRuntime();
    },
  };
}

/**
 * The body of an SQS handler: FIFO-ordered, partial batch failures, one log line per failure.
 * A failed record is then one of three things:
 * - next hop unreachable: its line is held (holdLines): it and every later record of its FIFO
 *   group in this batch stay invisible for the capped backoff of `delivery.hold`;
 * - permanent (a 5xx such as a malformed record), or failed `queues.maxReceiveCount` times
 *   (its own failures, counted in the mailbag: core/dead-letter.ts countFailure, not SQS's
 *   receives): moved to the dead-letter queue, logged at error level with its mail id;
 * - anything else: retried after the queue's visibility timeout.
 */
export function fifoBatch<P = undefined>(
  name: string,
  processRecord: (
    record: SQSRecord,
    runtime: Runtime,
    prepared: P | undefined,
  ) => Promise<Processed | unknown>,
  /** Per batch: the reads to start for every record before the first is processed. */
  ahead?: (runtime: Runtime) => ReadAhead<P>,
): (event: SQSEvent, context: RuntimeContext) => Promise<SQSBatchResponse> {
  return async (event, context) => {
    const held = new Map<string | undefined, number>();
    // A record is started only in the first half of the invocation's time (the first always):
    // one running into the function timeout would send the whole batch back, and only after the
    // visibility timeout. Those not started go back at once, in order (held for 0 s).
    const startBy = Date.now() + context.getRemainingTimeInMillis() / 2;
    let started = 0;
    const response = await processFifoBatch<P>(
      event.Records,
      async (record, prepared) => {
        try {
          if (started++ > 0 && Date.now() >= startBy) throw NOT_STARTED;
          return await processRecord(record, context.runtime, prepared);
        } catch (err) {
          if (err === NOT_STARTED) {
            held.set(record.attributes?.MessageGroupId, 0);
            throw err;
          }
          if (isMailbagError(err) && err.code === "next-hop-unreachable") {
            const receives = receivesOf(record);
            const seconds = holdSeconds(context.runtime.config.delivery, receives);
            held.set(record.attributes?.MessageGroupId, seconds);
            log.warn("line-held", {
              id: mailIdOf(record.body),
              seconds,
              receives,
              reason: err.reason,
            });
            throw err;
          }
          if (!(await settleFailure(context.runtime, record, err))) throw err;
        }
      },
      (record, err) =>
        (err === NOT_STARTED ? log.info : log.warn)(`${name}-failed`, {
          id: mailIdOf(record.body),
          messageId: record.messageId,
          ...describeError(err),
        }),
      ahead?.(context.runtime),
    );
    await holdLines(context.runtime, event.Records, response, held);
    return response;
  };
}

/** Not an error: the batch's time was half spent, so this record and its group's rest wait. */
const NOT_STARTED = new Error("not started: half of the invocation's time was spent; next batch");

/**
 * Holds each line whose head found its next hop unreachable (or, for 0 s, was not started):
 * every failed record of that FIFO group in this batch is postponed by the same hold, the head
 * last. All of them, because a group must not reopen before its head is due: SQS keeps a group
 * closed while any of its messages is in flight, but LocalStack reopens it as soon as the oldest
 * in-flight message is visible again (FifoQueue.requeue_inflight_messages), so a head postponed
 * alone, shorter than the visibility of the records behind it, let messages after those
 * overtake it there.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html
 */
async function holdLines(
  runtime: Runtime,
  records: readonly SQSRecord[],
  response: SQSBatchResponse,
  held: ReadonlyMap<string | undefined, number>,
): Promise<void> {
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  for (const [group, seconds] of held) {
    const line = records.filter(
      (r) => r.attributes?.MessageGroupId === group && failed.has(r.messageId),
    );
    for (const r of line.reverse()) {
      await runtime.queue.postpone(queueNameOf(r), r.receiptHandle, seconds).catch((e: unknown) => {
        log.warn("hold-failed", { queue: queueNameOf(r), ...describeError(e) });
      });
    }
  }
}

const queueNameOf = (record: SQSRecord): string => record.eventSourceARN.split(":").pop() ?? "";
const receivesOf = (record: SQSRecord): number =>
  Number(record.attributes.ApproximateReceiveCount) || 1;

/** The FIFO line a retry job (core/retry.ts) goes back to: push when it names its postoffice. */
function retryLineOf(body: string): QueueRole {
  try {
    const job = JSON.parse(body) as { postoffice?: unknown } | null;
    return typeof job?.postoffice === "string" ? "push" : "deliver";
  } catch {
    return "deliver";
  }
}

/**
 * What becomes of a record that failed with `err` (see fifoBatch): true when it was moved to
 * the dead-letter queue (so it counts as processed), false when it stays to be retried.
 */
export async function settleFailure(
  runtime: Runtime,
  record: SQSRecord,
  err: unknown,
): Promise<boolean> {
  const queueName = queueNameOf(record);
  const receives = receivesOf(record);
  const owner = runtime.config.gateways
    .map((gw) => ({ id: gw.id, names: gatewayResources(runtime.config.prefix, gw.id) }))
    .find(
      ({ names }) =>
        names.retryQueue === queueName || Object.values(names.queues).includes(queueName),
    );
  if (!owner) return false;
  const deps = runtime.deadLetterDeps(owner.id);
  if (!isPermanent(err)) {
    // Not counted (the mailbag is out of reach too): retried, SQS's redrive is the backstop.
    const failures = await countFailure(deps.store, record.messageId).catch(() => 0);
    if (failures < runtime.config.queues.maxReceiveCount) return false;
  }
  // A retry queue's job belongs to the line it goes back to: push when it names a postoffice.
  const role =
    (Object.keys(owner.names.queues) as QueueRole[]).find(
      (r) => owner.names.queues[r] === queueName,
    ) ?? retryLineOf(record.body);
  const queue = owner.names.deadLetterQueues[role];
  try {
    const outcome = await deadLetter(deps, {
      body: record.body,
      queue,
      groupId: record.attributes.MessageGroupId ?? owner.id,
      deduplicationId: record.messageId,
      error: err,
    });
    log.error(EVENTS.deadLettered, {
      id: outcome.id ?? null,
      gateway: owner.id,
      queue,
      reason: outcome.reason,
      receives,
      ...(outcome.report ? { report: outcome.report } : {}),
    });
    metric(owner.id, { DeadLettered: 1 });
    return true;
  } catch (moveErr) {
    log.error("dead-letter-failed", {
      id: mailIdOf(record.body) ?? null,
      queue,
      ...describeError(moveErr),
    });
    return false;
  }
}
