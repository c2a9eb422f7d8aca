/**
 * The retry line: deferred recipients wait in a standard SQS queue, not in the FIFO line. SQS
 * FIFO queues have no per-message delay
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues.html),
 * a standard queue does, up to 15 minutes
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-timers.html).
 * A retry job that is due goes back to the tail of the gateway's FIFO delivery queue, so every
 * attempt still passes through the one line; one not yet due (a wait over 15 minutes) is
 * delayed again.
 */
import { createHash } from "node:crypto";
import type { RetryJob } from "./envelope.ts";
import { pushGroup } from "./names.ts";
import type { JobQueue } from "./ports.ts";

export type { RetryJob };

/** SQS's largest DelaySeconds. */
export const MAX_DELAY_SECONDS = 900;

export interface RetryDeps {
  readonly queue: JobQueue;
  readonly deliverQueue: string;
  /** Where a push job (one naming its postoffice) goes back in line. */
  readonly pushQueue: string;
  readonly retryQueue: string;
  readonly now?: () => Date;
}

export function delaySecondsUntil(due: string, now: Date): number {
  return Math.max(0, Math.ceil((Date.parse(due) - now.getTime()) / 1000));
}

/** Queues a retry job to come back when it is due (or after 15 minutes, to be delayed again). */
export async function scheduleRetry(deps: RetryDeps, job: RetryJob): Promise<void> {
  const now = (deps.now ?? (() => new Date()))();
  const delay = Math.min(delaySecondsUntil(job.due, now), MAX_DELAY_SECONDS);
  await deps.queue.sendDelayed(deps.retryQueue, job, delay);
}

/** A retry job came back: due → a delivery job at the tail of the FIFO line; else wait more. */
export async function releaseRetry(
  deps: RetryDeps,
  job: RetryJob,
): Promise<"released" | "waiting"> {
  const now = (deps.now ?? (() => new Date()))();
  // SQS delays are whole seconds: a job up to a second early is due.
  if (Date.parse(job.due) - now.getTime() > 1000) {
    await scheduleRetry(deps, job);
    return "waiting";
  }
  const which = createHash("sha256").update(job.recipients.join("\n")).digest("hex").slice(0, 16);
  const { postoffice } = job;
  await deps.queue.send(
    postoffice === undefined ? deps.deliverQueue : deps.pushQueue,
    {
      v: 1,
      id: job.id,
      gateway: job.gateway,
      recipients: job.recipients,
      ...(postoffice !== undefined ? { postoffice } : {}),
    },
    postoffice === undefined ? job.gateway : pushGroup(job.gateway, postoffice),
    // Not the router's id: a retry within the FIFO deduplication window must not be dropped.
    `${job.id}.${which}.r${job.attempt}`,
  );
  return "released";
}
