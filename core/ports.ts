/**
 * What core needs from the outside world, as interfaces: the functions/ adapters implement
 * them over S3 and SQS, tests can hand in the same adapters pointed at an emulator.
 */
import type { Readable } from "node:stream";

/** One gateway's mailbag bucket. */
export interface MailbagStore {
  /** Streams `body` into `key` (multipart); rejects, leaving no object, if `body` errors. */
  putStream(key: string, body: Readable): Promise<void>;
  putJson(key: string, value: unknown): Promise<void>;
  /** The parsed JSON object at `key`, or undefined when there is none. */
  getJson(key: string): Promise<unknown>;
  /**
   * A stream of the object's bytes; `range` is an HTTP byte range such as `bytes=0-65535`.
   * Rejects with MessageGoneError when there is no such object.
   */
  getStream(key: string, range?: string): Promise<Readable>;
  /** Server-side copy: the bytes never pass through this process. MessageGoneError: no source. */
  copy(fromKey: string, toKey: string): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
  /** Every object under `prefix` ("directory" `/` not descended when `shallow`), in key order. */
  list(prefix: string, options?: { shallow?: boolean }): Promise<StoredObject[]>;
}

export interface StoredObject {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: Date;
}

/** The FIFO queues of the network, addressed by name. */
export interface JobQueue {
  /**
   * Sends one FIFO message. `groupId` orders (one group per gateway: one at a time, in order);
   * `deduplicationId` makes a resend within 5 minutes a no-op
   * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-exactly-once-processing.html).
   */
  send(queueName: string, body: unknown, groupId: string, deduplicationId: string): Promise<void>;
  /** Sends to a standard queue, invisible for `delaySeconds` (0-900): the retry line. */
  sendDelayed(queueName: string, body: unknown, delaySeconds: number): Promise<void>;
  /**
   * Keeps a received record invisible for `seconds` from now (ChangeMessageVisibility): how
   * the head of a FIFO line waits with backoff while its group stays blocked behind it.
   */
  postpone(queueName: string, receiptHandle: string, seconds: number): Promise<void>;
  /**
   * Sends FIFO messages in this order, up to ten per call (SendMessageBatch). Resolves with how
   * many of them, counted from the first, are known to be on the queue: all of them, or fewer
   * when an entry failed (that one and everything after it must be sent again; resending those
   * that did get through is a no-op thanks to their deduplication ids). Rejects when nothing
   * is known.
   */
  sendBatch(queueName: string, jobs: readonly QueuedJob[]): Promise<number>;
}

export interface QueuedJob {
  readonly body: unknown;
  readonly groupId: string;
  readonly deduplicationId: string;
}

/** The outcome of one SMTP transaction with the smart host, per recipient. */
export interface TransportResult {
  readonly accepted: readonly string[];
  /** Recipients refused at RCPT (or for the whole transaction), with the peer's reply. */
  readonly refused: readonly {
    readonly address: string;
    readonly reply: string;
    readonly permanent: boolean;
  }[];
  /** The final reply to DATA, e.g. `250 <enhanced> Ok: queued as ABC` (core/errors.ts). */
  readonly reply: string;
  /** The host that answered (Remote-MTA in reports). */
  readonly remoteMta?: string;
  /**
   * Whether the next hop took the DSN parameters (RFC 3461): false means it offers no DSN, so
   * recipients that asked NOTIFY=SUCCESS get a "relayed" report from us.
   */
  readonly dsn?: boolean;
}

/** The ESMTP parameters of the stored envelope, for the next hop (RFC 6152, 6531, 3461). */
export interface SendOptions {
  /** MAIL FROM parameters as the client gave them (BODY, SMTPUTF8, RET, ENVID). */
  readonly params?: Readonly<Record<string, string>>;
  /** RCPT TO parameters per recipient (NOTIFY, ORCPT). */
  readonly rcptParams?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /**
   * A fresh stream of the same body, for a next hop that must read it twice: SES signs the
   * payload's hash before the body is sent (functions/shared/ses-request.ts).
   */
  readonly reopen?: () => Promise<Readable>;
}

/** The smart host: SMTP relay or Amazon SES. */
export interface SmartHostTransport {
  /**
   * One transaction: envelope from the stored envelope (never from headers), body streamed.
   * Rejects with a SmartHostReplyError for a reply that refuses the whole transaction, and with
   * a BackendUnavailableError when no reply could be had (connection refused, timeout).
   */
  send(
    from: string,
    to: readonly string[],
    body: Readable,
    size: number,
    options?: SendOptions,
  ): Promise<TransportResult>;
}
