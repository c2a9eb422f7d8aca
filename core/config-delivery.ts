/**
 * The `delivery` section of the config: how often and how long the gateway retries, and how the
 * delivery line waits for an unreachable next hop (README "Order", docs/delivery.md).
 * Defaults are Postfix's (https://www.postfix.org/postconf.5.html): minimal_backoff_time 300 s,
 * maximal_backoff_time 4000 s, maximal_queue_lifetime 5 days.
 */
import { z } from "zod";
import { int } from "./config-int.ts";

const DAY = 86_400;

/** Backoff bounds: the first wait, doubled after every attempt, never more than the cap. */
const backoff = (initial: number, max: number, cap: number) =>
  z
    .strictObject({
      initialSeconds: int(1, cap).default(initial),
      maxSeconds: int(1, cap).default(max),
    })
    .prefault({})
    .refine((b) => b.initialSeconds <= b.maxSeconds, {
      message: "initialSeconds must not exceed maxSeconds",
      path: ["initialSeconds"],
    });

/**
 * Every FIFO line's own redrive limit (receives before SQS moves a job to its dead-letter queue,
 * without a log line). SQS allows at most 1000. The functions dead-letter a job themselves after
 * `queues.maxReceiveCount` failures of its own (core/dead-letter.ts countFailure), so this only
 * bounds how long a line can wait for a next hop, and how often a job is received behind others
 * of its batch that fail (batches of ten, infra/constructs/queue-function.ts).
 */
export const LINE_REDRIVE_RECEIVES = 1000;

export const deliverySection = z
  .strictObject({
    /** Deferred recipients (4xx): their own retry schedule, off the head of the line. */
    retry: backoff(300, 4000, DAY),
    /** After this long in the gateway, what is still undelivered is returned (4.4.7). */
    queueLifetimeSeconds: int(10, 13 * DAY).default(5 * DAY),
    /**
     * Next hop unreachable (no answer, 421): the whole line waits this long before the head job
     * is tried again (SQS visibility timeout, at most 12 h).
     */
    hold: backoff(10, 600, 12 * 3600),
  })
  // An omitted section is parsed as `{}`: each field's own default applies.
  .prefault({})
  .refine(
    // The head job must be able to wait out the whole queue lifetime before SQS's redrive limit.
    (d) => d.queueLifetimeSeconds <= (LINE_REDRIVE_RECEIVES - 50) * d.hold.maxSeconds,
    {
      message: `too short to wait out queueLifetimeSeconds within ${LINE_REDRIVE_RECEIVES - 50} receives`,
      path: ["hold", "maxSeconds"],
    },
  );

export type DeliveryPolicy = z.output<typeof deliverySection>;

/** Seconds before attempt `attempt + 1` of a deferred recipient: exponential, capped. */
export function retryDelaySeconds(policy: DeliveryPolicy, attempt: number): number {
  return capped(policy.retry, attempt);
}

/** Seconds the line waits after the head job's `receives`-th unreachable attempt. */
export function holdSeconds(policy: DeliveryPolicy, receives: number): number {
  return capped(policy.hold, receives);
}

function capped(b: { initialSeconds: number; maxSeconds: number }, n: number): number {
  const exp = Math.min(30, Math.max(0, n - 1));
  return Math.min(b.maxSeconds, b.initialSeconds * 2 ** exp);
}
