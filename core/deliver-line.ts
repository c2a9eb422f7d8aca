/**
 * A FIFO batch of delivery jobs, ordered but not serial. The messages leave in the batch's
 * order, one SMTP transaction after the other (on the transport's kept-alive connection); what
 * does not have to wait for the previous message does not:
 * - every job's status record and envelope are read at once, when the batch arrives (neither
 *   is read at all on a first attempt of a job that carries its envelope: deliverJob `fresh`);
 * - bodies are opened `window` jobs ahead, as streams (not buffered: each waits, paused, for
 *   its turn), so the next message's first bytes are at hand when the previous one is accepted;
 * - storing an outcome (status record, retry job) overlaps the next send: `durable`, which the
 *   caller awaits before the job may leave its queue (functions/shared/fifo-batch.ts).
 * Two jobs of one message (one per next hop) share its status record: the later one starts from
 * the earlier one's outcome, once that is stored, instead of from the record read ahead.
 */
import {
  type Attempt,
  attemptDelivery,
  type DeliverDeps,
  deliveryKeys,
  discardPrepared,
  openAhead,
  type Prepared,
  prepareDelivery,
} from "./deliver.ts";
import type { DeliverJob, DeliveryStatus } from "./envelope.ts";

/** A job of the batch with its reads started. */
export interface LineEntry {
  readonly deps: DeliverDeps;
  readonly job: DeliverJob;
  readonly prepared: Prepared;
}

export interface DeliveryLine {
  /** Starts the reads of the batch's next job (call in batch order, before delivering any). */
  prepare(deps: DeliverDeps, job: DeliverJob, firstAttempt: boolean): LineEntry;
  /** Delivers a prepared job; call in batch order, each after the previous one resolved. */
  deliver(entry: LineEntry): Promise<Attempt>;
  /** Releases what was opened ahead for a job that will not be delivered in this batch. */
  discard(entry: LineEntry): void;
}

/** How many bodies are open ahead of the one being sent. */
export const BODIES_AHEAD = 3;

export function deliveryLine(window = BODIES_AHEAD): DeliveryLine {
  const entries: LineEntry[] = [];
  let next = 0; // the next entry to deliver
  const stored = new Map<string, Promise<DeliveryStatus>>();
  const openUpTo = (end: number) => {
    for (const e of entries.slice(next, end)) openAhead(e.deps, e.job, e.prepared);
  };
  return {
    prepare(deps, job, firstAttempt) {
      const entry = { deps, job, prepared: prepareDelivery(deps, job, firstAttempt) };
      entries.push(entry);
      openUpTo(next + window + 1);
      return entry;
    },
    async deliver(entry) {
      const index = entries.indexOf(entry);
      next = index + 1;
      openUpTo(next + window);
      const key = deliveryKeys(entry.job).status;
      const earlier = stored.get(key);
      const prepared: Prepared = earlier ? { ...entry.prepared, status: earlier } : entry.prepared;
      const attempt = attemptDelivery(entry.deps, entry.job, prepared);
      const status = attempt.then(async (a) => {
        await a.durable;
        return a.outcome.status;
      });
      status.catch(() => undefined);
      stored.set(key, status);
      return attempt;
    },
    discard(entry) {
      discardPrepared(entry.prepared);
    },
  };
}
