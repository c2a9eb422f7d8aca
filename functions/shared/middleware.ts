/** middy plumbing shared by the SQS handlers. */
import type { MiddlewareObj } from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { holdSeconds } from "../../core/config-delivery.ts";
import { deadLetter, isPermanent, mailIdOf } from "../../core/dead-letter.ts";
import { NextHopUnreachableError } from "../../core/errors.ts";
import { gatewayResources, type QueueRole } from "../../core/names.ts";
import { EVENTS, metric } from "./events.ts";
import { processFifoBatch } from "./fifo-batch.ts";
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
 * - next hop unreachable: it stays at the head of its line, invisible for the capped backoff
 *   of `delivery.hold` (the FIFO group waits behind it);
 * - permanent (a 5xx such as a malformed record), or received `queues.maxReceiveCount` times:
 *   moved to the dead-letter queue, logged at error level with its mail id (core/dead-letter.ts);
 * - anything else: retried after the queue's visibility timeout.
 */
export function fifoBatch(
  name: string,
  processRecord: (record: SQSRecord, runtime: Runtime) => Promise<void>,
): (event: SQSEvent, context: RuntimeContext) => Promise<SQSBatchResponse> {
  return (event, context) =>
    processFifoBatch(
      event.Records,
      async (record) => {
        try {
          await processRecord(record, context.runtime);
        } catch (err) {
          if (!(await settleFailure(context.runtime, record, err))) throw err;
        }
      },
      (record, err) =>
        log.warn(`${name}-failed`, {
          id: mailIdOf(record.body),
          messageId: record.messageId,
          ...describeError(err),
        }),
    );
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
  const queueName = record.eventSourceARN.split(":").pop() ?? "";
  const receives = Number(record.attributes.ApproximateReceiveCount) || 1;
  if (err instanceof NextHopUnreachableError) {
    const seconds = holdSeconds(runtime.config.delivery, receives);
    await runtime.queue.postpone(queueName, record.receiptHandle, seconds).catch((e: unknown) => {
      log.warn("hold-failed", { queue: queueName, ...describeError(e) });
    });
    log.warn("line-held", { id: mailIdOf(record.body), seconds, receives, reason: err.reason });
    return false;
  }
  if (!isPermanent(err) && receives < runtime.config.queues.maxReceiveCount) return false;
  const owner = runtime.config.gateways
    .map((gw) => ({ id: gw.id, names: gatewayResources(runtime.config.prefix, gw.id) }))
    .find(
      ({ names }) =>
        names.retryQueue === queueName || Object.values(names.queues).includes(queueName),
    );
  if (!owner) return false;
  // The retry queue's jobs belong to the delivery line.
  const role =
    (Object.keys(owner.names.queues) as QueueRole[]).find(
      (r) => owner.names.queues[r] === queueName,
    ) ?? "deliver";
  const queue = owner.names.deadLetterQueues[role];
  try {
    const outcome = await deadLetter(runtime.deadLetterDeps(owner.id), {
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
