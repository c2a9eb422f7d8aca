/**
 * One delivery attempt of one job (a message, some of its recipients, one next hop). The
 * envelope comes from the stored envelope, never from headers; the body is piped from the
 * mailbag. Target-agnostic: the next hop is whatever `transport` is (smart host, SES, another
 * gateway, a postoffice's server: push jobs read the postoffice's inbound mailbag, deliveryKeys).
 *
 * Per recipient:
 * - 2xx → delivered (a "relayed" report when it asked NOTIFY=SUCCESS and the next hop has no DSN);
 * - 5xx → failed, one report (bounce) for all recipients that failed in this attempt;
 * - 4xx to RCPT or DATA → deferred: the job is acknowledged and a retry job with exponential
 *   backoff goes to the retry queue (retry.ts), so the message leaves the head of the line;
 * - no answer (connection refused, timeout, 421) → NextHopUnreachableError: the job stays at
 *   the head of the FIFO line, which waits (the handler applies capped backoff);
 * - older than the queue lifetime → failed with 4.4.7 and reported;
 * - body gone from the mailbag (an attempt the ingress refused, a deleted message) → abandoned.
 * Recipients already delivered or failed are skipped, so a redelivered job does not send twice.
 */
import type { Readable } from "node:stream";
import { type DeliveryPolicy, retryDelaySeconds } from "./config-delivery.ts";
import {
  deliveryKeys,
  discardPrepared,
  openBody,
  type Prepared,
  prepareDelivery,
} from "./deliver-reads.ts";
import { type DsnRecipient, notifyWants } from "./dsn.ts";
import type { DeliverJob, DeliveryStatus, Envelope, RecipientState } from "./envelope.ts";
import {
  enhancedCodeOf,
  isMailbagError,
  type MailbagError,
  NextHopUnreachableError,
  reportStatus,
} from "./errors.ts";
import type { MailbagStore, SmartHostTransport, TransportResult } from "./ports.ts";
import { type ReportDeps, type ReportResult, reportInto } from "./report.ts";
import { type RetryDeps, type RetryJob, scheduleRetry } from "./retry.ts";

export {
  deliveryKeys,
  discardPrepared,
  openAhead,
  type Prepared,
  prepareDelivery,
} from "./deliver-reads.ts";

/** The retry line's queues (RetryDeps) are where deferred recipients wait for their next attempt. */
export interface DeliverDeps extends RetryDeps {
  readonly store: MailbagStore;
  readonly transport: SmartHostTransport;
  readonly policy: DeliveryPolicy;
  readonly reports: ReportDeps;
  readonly now?: () => Date;
}

export interface DeliverOutcome {
  readonly status: DeliveryStatus;
  /** The retry job queued for deferred recipients, if any. */
  readonly retry?: RetryJob;
  /** Reports sent (or not) in this attempt, and reports that failed (logged, dropped). */
  readonly reports: readonly ReportResult[];
  /** The body was gone (MessageGoneError): nothing was sent, nothing recorded. */
  readonly abandoned?: true;
}

/** An attempt whose SMTP part is done; `durable` settles once its outcome is stored. */
export interface Attempt {
  readonly outcome: DeliverOutcome;
  readonly durable: Promise<void>;
}

/** One attempt, start to stored outcome (deliveryLine overlaps the storing with the next send). */
export async function deliverMessage(
  deps: DeliverDeps,
  job: DeliverJob,
  prepared: Prepared = prepareDelivery(deps, job),
): Promise<DeliverOutcome> {
  const attempt = await attemptDelivery(deps, job, prepared);
  await attempt.durable;
  return attempt.outcome;
}

/**
 * One delivery attempt up to the next hop's answer. Storing the outcome (status record, retry
 * job, a push job's clean-up) is started, not awaited: `durable`. The caller must await it
 * before the job leaves its queue.
 */
export async function attemptDelivery(
  deps: DeliverDeps,
  job: DeliverJob,
  prepared: Prepared,
): Promise<Attempt> {
  const now = (deps.now ?? (() => new Date()))();
  const at = now.toISOString();
  const where = deliveryKeys(job);
  // Status first: a push job retried after its message left the inbound mailbag has nothing
  // pending and must not look for it.
  const previous = await prepared.status;
  const status: DeliveryStatus = previous ?? { id: job.id, recipients: {} };
  const pending = job.recipients.filter((r) => {
    const state = status.recipients[r]?.state;
    return state !== "delivered" && state !== "failed";
  });
  if (pending.length === 0) {
    discardPrepared(prepared);
    return { outcome: { status, reports: [] }, durable: Promise.resolve() };
  }
  const envelope = await prepared.envelope;

  const record = (address: string, state: RecipientState, reply: string, remoteMta?: string) => {
    const prev = status.recipients[address];
    status.recipients[address] = {
      state,
      reply,
      at,
      attempts: (prev?.attempts ?? 0) + 1,
      ...(remoteMta ? { remoteMta } : {}),
    };
  };

  const age = (now.getTime() - Date.parse(envelope.receivedAt)) / 1000;
  if (age >= deps.policy.queueLifetimeSeconds) {
    // Postfix's maximal_queue_lifetime: what is still undelivered is returned, 4.4.7.
    for (const r of pending) {
      const last = status.recipients[r];
      status.recipients[r] = {
        state: "failed",
        reply: `${reportStatus.expired} delivery time expired${last ? `; last reply: ${last.reply}` : ""}`,
        at,
        attempts: last?.attempts ?? 0,
        ...(last?.remoteMta ? { remoteMta: last.remoteMta } : {}),
      };
    }
    discardPrepared(prepared);
    const reports = await report(deps, envelope, status, pending, "failed", reportStatus.expired);
    return { outcome: { status, reports }, durable: settle(deps, job, where, status, []) };
  }

  let result: TransportResult;
  let body: Readable;
  try {
    body = await openBody(deps, where, prepared);
  } catch (err) {
    if (!isMailbagError(err) || err.code !== "message-gone") throw err;
    return { outcome: { status, reports: [], abandoned: true }, durable: Promise.resolve() };
  }
  try {
    result = await deps.transport.send(envelope.mailFrom, pending, body, envelope.size, {
      params: envelope.params,
      rcptParams: envelope.rcptParams,
      reopen: () => deps.store.getStream(where.message),
    });
  } catch (err) {
    body.destroy();
    if (!isMailbagError(err)) throw err;
    if (unreachable(err)) {
      // The line waits: nothing is recorded as an attempt of these recipients.
      for (const r of pending) record(r, "deferred", replyOf(err));
      await deps.store.putJson(where.status, status);
      throw err.code === "next-hop-unreachable"
        ? err
        : new NextHopUnreachableError(replyOf(err), { cause: err });
    }
    // The whole transaction was refused (MAIL or DATA reply): the same for every recipient.
    const permanent = !err.transient;
    result = {
      accepted: [],
      refused: pending.map((address) => ({ address, reply: replyOf(err), permanent })),
      reply: replyOf(err),
    };
  }

  const remote = result.remoteMta;
  for (const address of result.accepted) record(address, "delivered", result.reply, remote);
  for (const r of result.refused)
    record(r.address, r.permanent ? "failed" : "deferred", r.reply, remote);

  const failed = pending.filter((r) => status.recipients[r]?.state === "failed");
  const deferred = pending.filter((r) => status.recipients[r]?.state === "deferred");
  const reports = [
    ...(await report(deps, envelope, status, failed, "failed")),
    // RFC 3461 §6.2.1: a next hop without DSN ends the chain of reports here: "relayed".
    ...(result.dsn === false
      ? await report(
          deps,
          envelope,
          status,
          result.accepted.filter((r) => notifyWants(envelope.rcptParams[r]?.NOTIFY, "relayed")),
          "relayed",
          reportStatus.relayed,
        )
      : []),
  ];

  let retry: RetryJob | undefined;
  if (deferred.length > 0) {
    const attempt = Math.max(...deferred.map((r) => status.recipients[r]?.attempts ?? 1));
    const lifetimeLeft = deps.policy.queueLifetimeSeconds - age;
    // Never later than the end of the queue lifetime, so the 4.4.7 report comes on time.
    const delay = Math.max(
      1,
      Math.min(retryDelaySeconds(deps.policy, attempt), Math.ceil(lifetimeLeft)),
    );
    const due = new Date(now.getTime() + delay * 1000).toISOString();
    for (const r of deferred) {
      const s = status.recipients[r];
      if (s) s.next = due;
    }
    const { postoffice } = job;
    retry = {
      v: 1,
      id: job.id,
      gateway: job.gateway,
      recipients: deferred,
      due,
      attempt,
      ...(postoffice !== undefined ? { postoffice } : {}),
    };
  }
  const settled = settle(deps, job, where, status, deferred);
  const scheduled = retry ? scheduleRetry({ ...deps, now: () => now }, retry) : undefined;
  const durable = Promise.all([settled, scheduled]).then(() => undefined);
  durable.catch(() => undefined); // the caller awaits it; meanwhile it must not go unhandled
  return { outcome: { status, reports, ...(retry ? { retry } : {}) }, durable };
}

/** Writes the status; a push job whose recipients are all settled leaves the inbound mailbag. */
async function settle(
  deps: DeliverDeps,
  job: DeliverJob,
  where: ReturnType<typeof deliveryKeys>,
  status: DeliveryStatus,
  deferred: readonly string[],
): Promise<void> {
  await deps.store.putJson(where.status, status);
  if (job.postoffice !== undefined && deferred.length === 0)
    await deps.store.delete([where.message, where.envelope]);
}

/** No reply at all, or `421` (RFC 5321 §3.8: the service is closing the channel). */
function unreachable(err: MailbagError): boolean {
  if (err.code === "smart-host-reply") return err.responseCode === 421;
  return err.code === "next-hop-unreachable" || err.code === "backend-unavailable";
}

function replyOf(err: unknown): string {
  return isMailbagError(err) ? err.reply : `451 ${(err as Error).message}`;
}

/** Sends one report about `recipients` and notes its id (or why none) in their status. */
async function report(
  deps: DeliverDeps,
  envelope: Envelope,
  status: DeliveryStatus,
  recipients: readonly string[],
  action: DsnRecipient["action"],
  fixedStatus?: string,
): Promise<DeliverOutcome["reports"]> {
  if (recipients.length === 0) return [];
  const dsn: DsnRecipient[] = recipients.map((address) => {
    const s = status.recipients[address];
    return {
      address,
      action,
      status: fixedStatus ?? enhancedCodeOf(s?.reply ?? ""),
      diagnostic: s?.reply,
      remoteMta: s?.remoteMta,
      lastAttempt: s ? new Date(s.at) : undefined,
    };
  });
  const result = await reportInto(deps.reports, envelope, status, dsn);
  return result ? [result] : [];
}
