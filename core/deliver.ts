/**
 * Delivery of one message to the smart host, or (push) to a postoffice's own server: the same
 * steps, only the keys (deliveryKeys) and the transport the caller hands in differ. The
 * envelope comes from the stored envelope, never from headers; the body is piped from the mailbag. Per recipient: 2xx → delivered, 5xx → failed
 * (recorded in the message's status record; DSNs come later), 4xx or no answer → deferred, and
 * the job fails so the queue retries it. Recipients already delivered or failed are skipped on a
 * retry, so a redelivered job does not send twice.
 */
import {
  type DeliverJob,
  type DeliveryStatus,
  parseEnvelope,
  parseStatus,
  type RecipientState,
} from "./envelope.ts";
import { MailbagError } from "./errors.ts";
import { keys } from "./names.ts";
import type { MailbagStore, SmartHostTransport } from "./ports.ts";

export interface DeliverDeps {
  readonly store: MailbagStore;
  readonly transport: SmartHostTransport;
  readonly now?: () => Date;
}

/** Some recipients could not be delivered yet: the job must be retried. */
export class DeliveryDeferredError extends MailbagError {
  constructor(id: string, recipients: readonly string[], reply: string) {
    super(451, "4.4.0", `message ${id}: ${recipients.length} recipient(s) deferred: ${reply}`);
  }
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

export async function deliverMessage(deps: DeliverDeps, job: DeliverJob): Promise<DeliveryStatus> {
  const now = (deps.now ?? (() => new Date()))().toISOString();
  const at = deliveryKeys(job);
  // Status first: a push job retried after its message left the inbound mailbag has nothing
  // pending and must not look for it.
  const previous = await deps.store.getJson(at.status);
  const status: DeliveryStatus =
    previous === undefined ? { id: job.id, recipients: {} } : parseStatus(previous);
  const pending = job.recipients.filter((r) => {
    const state = status.recipients[r]?.state;
    return state !== "delivered" && state !== "failed";
  });
  if (pending.length === 0) return status;
  const envelope = parseEnvelope(await deps.store.getJson(at.envelope));

  const record = (address: string, state: RecipientState, reply: string) => {
    status.recipients[address] = {
      state,
      reply,
      at: now,
      attempts: (status.recipients[address]?.attempts ?? 0) + 1,
    };
  };
  try {
    const body = await deps.store.getStream(at.message);
    const result = await deps.transport.send(envelope.mailFrom, pending, body, envelope.size);
    for (const address of result.accepted) record(address, "delivered", result.reply);
    for (const r of result.refused) record(r.address, r.permanent ? "failed" : "deferred", r.reply);
  } catch (err) {
    // A refusal of the whole transaction (MAIL or DATA reply) or no reply at all.
    const permanent = err instanceof MailbagError && !err.transient;
    const reply = err instanceof MailbagError ? err.reply : `4.4.1 ${(err as Error).message}`;
    for (const address of pending) record(address, permanent ? "failed" : "deferred", reply);
  }
  await deps.store.putJson(at.status, status);
  const deferred = pending.filter((r) => status.recipients[r]?.state === "deferred");
  // Pushed: every recipient is settled, so the message leaves the postoffice's inbound mailbag.
  if (job.postoffice !== undefined && deferred.length === 0)
    await deps.store.delete([at.message, at.envelope]);
  if (deferred.length > 0) {
    throw new DeliveryDeferredError(
      job.id,
      deferred,
      status.recipients[deferred[0] ?? ""]?.reply ?? "",
    );
  }
  return status;
}
