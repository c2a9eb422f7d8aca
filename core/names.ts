/**
 * Deterministic AWS resource names and S3 keys, shared by the ingress, the functions, the local
 * runtime and the CDK app, so every part finds every other without a lookup service.
 */

/** route: accepted messages; deliver: to the smart host or another gateway; push: to postoffices' own servers. */
export type QueueRole = "route" | "deliver" | "push";

export interface GatewayResources {
  readonly bucket: string;
  readonly queues: Readonly<Record<QueueRole, string>>;
  readonly deadLetterQueues: Readonly<Record<QueueRole, string>>;
  /** Standard queue (per-message delays) where deferred recipients wait: core/retry.ts. */
  readonly retryQueue: string;
}

/**
 * S3 bucket names are lower-case and globally unique (hence the prefix); FIFO queue names must
 * end in `.fifo` (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues.html).
 */
export function gatewayResources(prefix: string, gatewayId: string): GatewayResources {
  const base = `${prefix}-${gatewayId.toLowerCase()}`;
  return {
    bucket: base,
    queues: {
      route: `${base}-route.fifo`,
      deliver: `${base}-deliver.fifo`,
      push: `${base}-push.fifo`,
    },
    deadLetterQueues: {
      route: `${base}-route-dlq.fifo`,
      deliver: `${base}-deliver-dlq.fifo`,
      push: `${base}-push-dlq.fifo`,
    },
    retryQueue: `${base}-retry`,
  };
}

/** Where a message and its records live in the gateway's mailbag bucket. */
export const keys = {
  /** The message exactly as accepted, our Received: header first. */
  message: (id: string) => `messages/${id}.eml`,
  /** The SMTP envelope and reception facts (see Envelope). */
  envelope: (id: string) => `messages/${id}.envelope.json`,
  /** Per-recipient delivery outcome, rewritten after every delivery attempt. */
  status: (id: string) => `messages/${id}.status.json`,
  /**
   * How often a queue record (by its SQS message id) failed: SQS counts receives, and a record
   * is also received behind a failing one of its group, or while its line waits (dead-letter.ts).
   */
  failures: (queueMessageId: string) => `messages/failures/${queueMessageId}.json`,
  /** A postoffice's inbound mailbag: what its users receive. */
  inbound: (postoffice: string, id: string) => `inbound/${postoffice}/${id}.eml`,
  inboundEnvelope: (postoffice: string, id: string) => `inbound/${postoffice}/${id}.envelope.json`,
  /**
   * Outcome of pushing a message to a postoffice's own server: its own record, so the push and
   * the smart host delivery of one message never overwrite each other's status.
   */
  pushStatus: (postoffice: string, id: string) => `messages/${id}.${postoffice}.status.json`,
  /** A postoffice's outbound mailbag: what it drops for the gateway to send (`mailbag submit`). */
  outbound: (postoffice: string) => `outbound/${postoffice}/`,
  /** Where an outbound object that could not be taken in goes, with `<name>.reason.json` beside it. */
  rejected: (postoffice: string) => `outbound/${postoffice}/rejected/`,
} as const;

/**
 * Message group of a push job: one per postoffice, so a postoffice whose server is down holds
 * up its own mail only (SQS FIFO orders and blocks per group).
 */
export const pushGroup = (gatewayId: string, postoffice: string) => `${gatewayId}.${postoffice}`;

/**
 * A pickup postoffice's notification queue (standard: S3 event notifications cannot feed FIFO
 * queues, https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html),
 * which wakes `mailbag fetch` when mail arrives in its inbound mailbag.
 */
export const pickupQueue = (prefix: string, postoffice: string) =>
  `${prefix}-po-${postoffice.toLowerCase()}`;
/** The gateway's outbound intake queue, fed by S3 event notifications on `outbound/`. */
export const intakeQueue = (prefix: string, gatewayId: string) =>
  `${prefix}-${gatewayId.toLowerCase()}-intake`;
