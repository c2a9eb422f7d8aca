/**
 * What a delivery attempt reads, and where: the keys of a job's message, envelope and status
 * record, and the reads a delivery line (deliver-line.ts) starts before the job's turn.
 */
import type { Readable } from "node:stream";
import {
  type DeliverJob,
  type DeliveryStatus,
  type Envelope,
  parseEnvelope,
  parseStatus,
} from "./envelope.ts";
import { keys } from "./names.ts";
import type { MailbagStore } from "./ports.ts";

interface StoreDeps {
  readonly store: MailbagStore;
}

/**
 * Where a job's message, envelope and outcome live. Smart host and backbone jobs read the
 * gateway's spool; a push job (`postoffice` set) reads the postoffice's inbound mailbag, whose
 * envelope holds that postoffice's recipients only, and keeps its own status record.
 */
export function deliveryKeys(job: DeliverJob): {
  message: string;
  envelope: string;
  status: string;
} {
  const po = job.postoffice;
  return po === undefined
    ? {
        message: keys.message(job.id),
        envelope: keys.envelope(job.id),
        status: keys.status(job.id),
      }
    : {
        message: keys.inbound(po, job.id),
        envelope: keys.inboundEnvelope(po, job.id),
        status: keys.pushStatus(po, job.id),
      };
}

/**
 * What one attempt reads, started before its turn: the status record (none to read on a first
 * attempt), the envelope (none to read when the job carries it) and, opened ahead by a
 * deliveryLine, the body stream (opened, not read: it waits paused until the message's turn).
 */
export interface Prepared {
  /** The status record; undefined when there is none (or none can exist yet). */
  readonly status: Promise<DeliveryStatus | undefined>;
  readonly envelope: Promise<Envelope>;
  /** The body, if opened ahead; otherwise it is opened when the message's turn comes. */
  body?: Promise<Readable>;
}

/**
 * Starts the reads of one attempt. `firstAttempt` (the queue's receive count is 1) together with
 * the router's `fresh` mark means no status record can exist yet: no GetObject for it.
 */
export function prepareDelivery(deps: StoreDeps, job: DeliverJob, firstAttempt = false): Prepared {
  const where = deliveryKeys(job);
  const status =
    firstAttempt && job.fresh === true
      ? Promise.resolve(undefined)
      : deps.store
          .getJson(where.status)
          .then((raw) => (raw === undefined ? undefined : parseStatus(raw)));
  const envelope = job.envelope
    ? Promise.resolve(job.envelope)
    : deps.store.getJson(where.envelope).then(parseEnvelope);
  // Awaited in turn (or never, when nothing is pending): a failure must not go unhandled first.
  status.catch(() => undefined);
  envelope.catch(() => undefined);
  return { status, envelope };
}

/** Opens the body ahead of its turn; an error while it waits only marks it for reopening. */
export function openAhead(deps: StoreDeps, job: DeliverJob, prepared: Prepared): void {
  if (prepared.body) return;
  const body = deps.store.getStream(deliveryKeys(job).message);
  body.then((b) => b.on("error", () => undefined)).catch(() => undefined);
  prepared.body = body;
}

/** Closes a body opened ahead for an attempt that will not be made. */
export function discardPrepared(prepared: Prepared): void {
  prepared.body?.then((b) => b.destroy()).catch(() => undefined);
}

/** The body opened ahead, unless it broke while waiting (then, as without one, opened now). */
export async function openBody(
  deps: StoreDeps,
  where: ReturnType<typeof deliveryKeys>,
  prepared: Prepared,
): Promise<Readable> {
  const ahead = await prepared.body?.catch(() => undefined);
  if (ahead && !ahead.destroyed && !ahead.errored) return ahead;
  ahead?.destroy();
  return deps.store.getStream(where.message);
}
