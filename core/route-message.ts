/**
 * The router's work for one accepted message: each recipient goes, per routeRecipient, to a
 * postoffice's inbound mailbag (server-side copy: no bytes through the function; for a push
 * postoffice also a push job), to another
 * gateway (backbone: a delivery job whose next hop is that gateway's SMTP ingress), to the smart
 * host (a delivery job), or is refused (recorded as failed in the message's status). Idempotent,
 * so a retried record does no harm: copies overwrite themselves and each delivery job carries a
 * deduplication id made of the message id and its next hop.
 */
import type { AddressMap } from "./address-map.ts";
import {
  carriedEnvelope,
  type Envelope,
  parseEnvelope,
  parseStatus,
  type RouteJob,
} from "./envelope.ts";
import { BackendUnavailableError, enhancedCodeOf, isMailbagError } from "./errors.ts";
import { keys, pushGroup } from "./names.ts";
import type { JobQueue, MailbagStore, QueuedJob } from "./ports.ts";
import { type ReportDeps, type ReportResult, reportInto } from "./report.ts";
import { routeRecipient } from "./route-recipient.ts";

export interface RouterDeps {
  readonly map: AddressMap;
  readonly store: MailbagStore;
  readonly queue: JobQueue;
  /** The gateway's delivery queue name. */
  readonly deliverQueue: string;
  /** The gateway's push queue name: delivery to postoffices' own servers. */
  readonly pushQueue: string;
  /** Where reports about refused recipients are accepted (the gateway's own accept path). */
  readonly reports?: ReportDeps;
  readonly now?: () => Date;
}

export type RouteOutcome =
  | {
      readonly kind: "routed";
      /** Postoffice → recipients put into its inbound mailbag. */
      readonly inbound: Record<string, string[]>;
      /** Recipients for the smart host. */
      readonly outbound: string[];
      /** Next gateway → recipients carried to it. */
      readonly backbone: Record<string, string[]>;
      /** Recipient → the reply that refused it. */
      readonly refused: Record<string, string>;
      /** The report (bounce) about the refused recipients, or why none was sent. */
      readonly report?: ReportResult;
    }
  /**
   * Nothing to deliver: the ingress refused this attempt (4xx) and removed its envelope, or its
   * body is gone (refused after the job was queued, or deleted by the administrator).
   */
  | { readonly kind: "abandoned" };

const add = (groups: Record<string, string[]>, key: string, rcpt: string) => {
  const list = groups[key] ?? [];
  if (!list.includes(rcpt)) list.push(rcpt);
  groups[key] = list;
};

/** One route job's outcome and the delivery jobs it still has to queue, in order. */
interface Planned {
  readonly outcome: RouteOutcome;
  readonly deliveries: QueuedJob[];
}

export async function routeMessage(deps: RouterDeps, job: RouteJob): Promise<RouteOutcome> {
  const planned = await planRoute(deps, job, envelopeOf(deps, job), false);
  for (const d of planned.deliveries)
    await deps.queue.send(deps.deliverQueue, d.body, d.groupId, d.deduplicationId);
  return planned.outcome;
}

export type BatchResult =
  | { readonly ok: true; readonly outcome: RouteOutcome }
  | { readonly ok: false; readonly error: unknown };

/**
 * The job's envelope: carried in the job (no read), or read from the mailbag, where its absence
 * means the ingress refused the attempt. A carried envelope's attempt was refused too if the
 * ingress failed after queueing the job; then the body is gone, which the first step that needs
 * it notices (an inbound copy here, the body read in delivery) and abandons the job.
 */
function envelopeOf(deps: RouterDeps, job: RouteJob): Promise<unknown> {
  return job.envelope ? Promise.resolve(job.envelope) : deps.store.getJson(keys.envelope(job.id));
}

/**
 * A FIFO batch of one gateway's route jobs: ordered, not serial. Every envelope not carried by
 * its job is read at once, the messages are routed in order, and all their delivery jobs go out
 * in order with one batch call. Returns a result per job up to the first failure; the caller
 * fails that job and every later one of the group, so they are routed again, in order (resent
 * delivery jobs are no-ops: same deduplication ids). `firstReceive[i]` says job i is received
 * for the first time (so it never queued delivery jobs before): only then may its delivery job
 * be marked `fresh`.
 */
export async function routeBatch(
  deps: RouterDeps,
  jobs: readonly RouteJob[],
  firstReceive: readonly boolean[] = [],
): Promise<BatchResult[]> {
  const envelopes = jobs.map((job) => {
    const read = envelopeOf(deps, job);
    read.catch(() => undefined); // awaited below in order; a failure must not go unhandled first
    return read;
  });
  const results: BatchResult[] = [];
  const deliveries: { index: number; job: QueuedJob }[] = [];
  for (const [index, job] of jobs.entries()) {
    try {
      const planned = await planRoute(
        deps,
        job,
        envelopes[index] ?? Promise.resolve(undefined),
        firstReceive[index] === true,
      );
      results.push({ ok: true, outcome: planned.outcome });
      for (const d of planned.deliveries) deliveries.push({ index, job: d });
    } catch (error) {
      results.push({ ok: false, error });
      break;
    }
  }
  if (deliveries.length === 0) return results;
  let sent = 0;
  let error: unknown;
  try {
    sent = await deps.queue.sendBatch(
      deps.deliverQueue,
      deliveries.map((d) => d.job),
    );
  } catch (err) {
    error = err;
  }
  const firstUnsent = deliveries[sent];
  if (firstUnsent) {
    results.length = firstUnsent.index;
    results.push({
      ok: false,
      error: error ?? new BackendUnavailableError("delivery job not queued, retrying"),
    });
  }
  return results;
}

async function planRoute(
  deps: RouterDeps,
  job: RouteJob,
  envelopeRead: Promise<unknown>,
  firstReceive: boolean,
): Promise<Planned> {
  const raw = await envelopeRead;
  if (raw === undefined) return { outcome: { kind: "abandoned" }, deliveries: [] };
  const envelope = parseEnvelope(raw);
  const inbound: Record<string, string[]> = {};
  const hops: Record<string, string[]> = {};
  const refused: Record<string, string> = {};
  for (const rcpt of envelope.rcptTo) {
    const route = routeRecipient(deps.map, envelope.gateway, rcpt);
    if (route.kind === "inbound") add(inbound, route.postoffice, route.recipient);
    else if (route.kind === "backbone") add(hops, route.to, route.recipient);
    else if (route.kind === "smarthost") add(hops, "", route.recipient);
    else refused[rcpt] = route.error.reply;
  }
  for (const [postoffice, rcptTo] of Object.entries(inbound)) {
    try {
      await deps.store.copy(keys.message(job.id), keys.inbound(postoffice, job.id));
    } catch (err) {
      if (isMailbagError(err) && err.code === "message-gone")
        return { outcome: { kind: "abandoned" }, deliveries: [] };
      throw err;
    }
    await deps.store.putJson(keys.inboundEnvelope(postoffice, job.id), { ...envelope, rcptTo });
    // Push postoffices: a job in the postoffice's own FIFO group delivers what was just put
    // into its mailbag, so one postoffice's outage holds up neither another nor outbound mail.
    if (deps.map.byId.get(postoffice)?.inbound) {
      await deps.queue.send(
        deps.pushQueue,
        { v: 1, id: job.id, gateway: envelope.gateway, recipients: rcptTo, postoffice },
        pushGroup(envelope.gateway, postoffice),
        `${job.id}.${postoffice}`,
      );
    }
  }
  const report =
    Object.keys(refused).length > 0 ? await recordRefused(deps, envelope, refused) : undefined;
  // One delivery job per next hop, so each is one SMTP transaction (nextHopTransport). The job
  // carries the envelope (spares delivery a GetObject) unless it is large: ten jobs share one
  // SendMessageBatch's 256 KiB. `fresh` lets delivery's first attempt skip the status read:
  // only when this job is the message's only writer of its status record (no other next hop,
  // nothing refused) and this route job never queued one before (a resend after the 5-minute
  // deduplication window must not deliver again without looking).
  const hopCount = Object.keys(hops).length;
  const fresh = firstReceive && hopCount === 1 && Object.keys(refused).length === 0;
  const carried = carriedEnvelope(envelope);
  const deliveries = Object.entries(hops).map(([hop, recipients]) => ({
    body: {
      v: 1,
      id: job.id,
      gateway: envelope.gateway,
      recipients,
      ...carried,
      ...(fresh ? { fresh: true } : {}),
    },
    groupId: envelope.gateway,
    deduplicationId: hop ? `${job.id}.${hop}` : job.id,
  }));
  const { "": outbound = [], ...backbone } = hops;
  return {
    outcome: {
      kind: "routed",
      inbound,
      outbound,
      backbone,
      refused,
      ...(report ? { report } : {}),
    },
    deliveries,
  };
}

/**
 * Refused recipients are failed for good and reported once (a retried route job finds their
 * report noted in the status record and sends no second one).
 */
async function recordRefused(
  deps: RouterDeps,
  envelope: Envelope,
  refused: Record<string, string>,
): Promise<ReportResult | undefined> {
  const { id } = envelope;
  const previous = await deps.store.getJson(keys.status(id));
  const status = previous === undefined ? { id, recipients: {} } : parseStatus(previous);
  const now = (deps.now ?? (() => new Date()))();
  const at = now.toISOString();
  for (const [address, reply] of Object.entries(refused)) {
    status.recipients[address] ??= { state: "failed", reply, at, attempts: 1 };
  }
  const unreported = Object.keys(refused).filter((a) => status.recipients[a]?.dsn === undefined);
  const report = deps.reports
    ? await reportInto(
        deps.reports,
        envelope,
        status,
        unreported.map((address) => ({
          address,
          action: "failed" as const,
          status: enhancedCodeOf(refused[address] ?? ""),
          diagnostic: refused[address],
          lastAttempt: now,
        })),
      )
    : undefined;
  await deps.store.putJson(keys.status(id), status);
  return report;
}
