/**
 * Deterministic AWS resource names and S3 keys, shared by the ingress, the functions, the local
 * runtime and the CDK app, so every part finds every other without a lookup service.
 */

export type QueueRole = "route" | "deliver";

export interface GatewayResources {
  readonly bucket: string;
  readonly queues: Readonly<Record<QueueRole, string>>;
  readonly deadLetterQueues: Readonly<Record<QueueRole, string>>;
}

/**
 * S3 bucket names are lower-case and globally unique (hence the prefix); FIFO queue names must
 * end in `.fifo` (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues.html).
 */
export function gatewayResources(prefix: string, gatewayId: string): GatewayResources {
  const base = `${prefix}-${gatewayId.toLowerCase()}`;
  return {
    bucket: base,
    queues: { route: `${base}-route.fifo`, deliver: `${base}-deliver.fifo` },
    deadLetterQueues: { route: `${base}-route-dlq.fifo`, deliver: `${base}-deliver-dlq.fifo` },
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
  /** A postoffice's inbound mailbag: what its users receive. */
  inbound: (postoffice: string, id: string) => `inbound/${postoffice}/${id}.eml`,
  inboundEnvelope: (postoffice: string, id: string) => `inbound/${postoffice}/${id}.envelope.json`,
} as const;
