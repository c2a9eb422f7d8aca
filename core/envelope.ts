/**
 * The records that travel beside a message: its SMTP envelope (stored next to the .eml in the
 * mailbag), the queue messages that move it along, and its per-recipient delivery status.
 * Everything read back from S3 or SQS is validated, so a corrupt record fails with the field
 * named instead of a TypeError deep in a handler.
 */
import { z } from "zod";
import { formatPath, MalformedRecordError } from "./errors.ts";

const envelopeSchema = z.strictObject({
  version: z.literal(1),
  id: z.string(),
  gateway: z.string(),
  /** Reverse path; "" is the null sender `<>` of bounces (RFC 5321 §4.5.5). */
  mailFrom: z.string(),
  rcptTo: z.array(z.string()).min(1),
  client: z.strictObject({
    address: z.string(),
    helo: z.string(),
    tls: z.boolean(),
    /** SMTP AUTH user, when the client authenticated. */
    user: z.string().optional(),
    /** The postoffice the client submitted for (auth or network), when it did. */
    postoffice: z.string().optional(),
  }),
  receivedAt: z.string(),
  /** Stored bytes, our Received: header included. */
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** ESMTP parameters worth keeping for later (RFC 1652 BODY, RFC 6531 SMTPUTF8, RFC 3461 DSN). */
  params: z.record(z.string(), z.string()).default({}),
  /** RCPT TO parameters per recipient, as given (RFC 3461 NOTIFY and ORCPT). */
  rcptParams: z.record(z.string(), z.record(z.string(), z.string())).default({}),
});
export type Envelope = z.output<typeof envelopeSchema>;

/** What every job carries: the message and the gateway that accepted it. */
const jobShape = { v: z.literal(1), id: z.string(), gateway: z.string() };

/**
 * Route queue: "a message was accepted by this gateway". The ingress puts the envelope in the
 * job (when small: carriedEnvelope), so the router reads nothing from the mailbag for it.
 */
const routeJobSchema = z.strictObject({ ...jobShape, envelope: envelopeSchema.optional() });
export type RouteJob = z.output<typeof routeJobSchema>;

/** The largest envelope (JSON characters) a job carries; larger ones are read from the mailbag. */
export const MAX_CARRIED_ENVELOPE = 16_384;

/**
 * `{ envelope }` to spread into a job when the envelope is small enough to travel in it, else
 * `{}`: ten jobs share one SendMessageBatch's 256 KiB (AWS SQS quotas:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
 */
export function carriedEnvelope(envelope: Envelope): { envelope?: Envelope } {
  return JSON.stringify(envelope).length <= MAX_CARRIED_ENVELOPE ? { envelope } : {};
}

/** What a job about some of a message's recipients adds: them, and a push job's postoffice. */
const recipientsJob = {
  ...jobShape,
  recipients: z.array(z.string()).min(1),
  /** A push job's postoffice (a retry goes back to the push queue, in that postoffice's group). */
  postoffice: z.string().optional(),
};

/**
 * Delivery queue: "send this message to these recipients through the smart host" (or the next
 * gateway). Push queue: the same, with `postoffice` set: "to that postoffice's own server, from
 * its inbound mailbag".
 */
const deliverJobSchema = z.strictObject({
  ...recipientsJob,
  /** The stored envelope, carried by the router (when small) so delivery need not read it. */
  envelope: envelopeSchema.optional(),
  /**
   * The router knew of no status record of this message and queued no other job for it: on its
   * first receive the job is its message's first attempt, and delivery skips the status read.
   */
  fresh: z.literal(true).optional(),
});
export type DeliverJob = z.output<typeof deliverJobSchema>;

/** Retry queue: "these deferred recipients are due again at `due`" (core/retry.ts). */
const retryJobSchema = z.strictObject({
  ...recipientsJob,
  due: z.string(),
  /** The attempt that deferred them (the next is attempt + 1). */
  attempt: z.number().int().positive(),
});
export type RetryJob = z.output<typeof retryJobSchema>;

export type RecipientState = "delivered" | "failed" | "deferred";
const statusSchema = z.strictObject({
  id: z.string(),
  recipients: z.record(
    z.string(),
    z.strictObject({
      state: z.enum(["delivered", "failed", "deferred"]),
      /** The smart host's reply (or the connection error) that decided the state. */
      reply: z.string(),
      at: z.string(),
      attempts: z.number().int().positive(),
      /** The host that gave the reply (Remote-MTA of a report). */
      remoteMta: z.string().optional(),
      /** Deferred: when the next attempt is due (ISO time). */
      next: z.string().optional(),
      /** The report (DSN) sent about this recipient: its message id, or why there is none. */
      dsn: z.string().optional(),
    }),
  ),
  /** Where the message's job went when it was given up on (a dead-letter queue), and why. */
  deadLetter: z.strictObject({ queue: z.string(), reason: z.string(), at: z.string() }).optional(),
});
export type DeliveryStatus = z.output<typeof statusSchema>;

function parser<S extends z.ZodType>(what: string, schema: S): (json: unknown) => z.output<S> {
  return (json) => {
    const r = schema.safeParse(json);
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    throw new MalformedRecordError(
      what,
      formatPath(issue?.path ?? []),
      issue?.message ?? "invalid",
    );
  };
}

export const parseEnvelope = parser("envelope", envelopeSchema);
export const parseRouteJob = parser("route job", routeJobSchema);
export const parseDeliverJob = parser("delivery job", deliverJobSchema);
export const parseRetryJob = parser("retry job", retryJobSchema);
export const parseStatus = parser("delivery status", statusSchema);

/** JSON.parse that reports bad JSON as a MalformedRecordError too. */
export function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MalformedRecordError(what, "", (err as Error).message);
  }
}
