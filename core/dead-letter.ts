/**
 * Nothing lost silently: a job the gateway gives up on (a record that cannot be read, a job
 * that kept failing) is moved to its queue's dead-letter queue by the handler itself — not
 * left for SQS's redrive policy, which moves it without a trace — so it is logged at error
 * level with the mail id, its status record says where it is, and when the reason is
 * permanent its recipients are reported (bounced). The operator lists and redrives dead letters
 * with the `mailbag` CLI.
 */
import { z } from "zod";
import { parseEnvelope, parseStatus } from "./envelope.ts";
import { enhancedCodeOf, isMailbagError } from "./errors.ts";
import { keys } from "./names.ts";
import type { JobQueue, MailbagStore } from "./ports.ts";
import { type ReportDeps, type ReportResult, reportInto } from "./report.ts";

export interface DeadLetterDeps {
  readonly store: MailbagStore;
  readonly queue: JobQueue;
  readonly reports: ReportDeps;
  readonly now?: () => Date;
}

export interface DeadLetter {
  /** The queue record's body, moved as it is. */
  readonly body: string;
  /** The FIFO dead-letter queue, its group and a deduplication id (the SQS message id). */
  readonly queue: string;
  readonly groupId: string;
  readonly deduplicationId: string;
  readonly error: unknown;
}

export interface DeadLetterOutcome {
  /** The mail id named in the record, when it names one. */
  readonly id: string | undefined;
  readonly reason: string;
  readonly report?: ReportResult | undefined;
}

/** The mail id of a queue record, even of one that is not valid JSON or not a valid job. */
export function mailIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { id?: unknown } | null)?.id;
    if (typeof id === "string") return id;
  } catch {
    // fall through to the pattern
  }
  return /"id"\s*:\s*"([^"]{1,200})"/.exec(body)?.[1];
}

/**
 * Counts one more failure of a queue record and returns how many it has had. SQS's
 * ApproximateReceiveCount is no such count: a record received in a batch behind a failing one
 * of its group (batches of ten keep the group's order, so all of them go back), or while its
 * line waits for an unreachable next hop, was received without failing. Kept in the mailbag
 * (keys.failures), written only when something failed.
 */
export async function countFailure(store: MailbagStore, queueMessageId: string): Promise<number> {
  const key = keys.failures(queueMessageId);
  const count = failureRecord.parse((await store.getJson(key)) ?? { count: 0 }).count + 1;
  await store.putJson(key, { count });
  return count;
}

const failureRecord = z.strictObject({ count: z.number().int().nonnegative() });

/** A permanent error will fail every retry the same way: dead-letter it at once. */
export function isPermanent(err: unknown): boolean {
  return isMailbagError(err) && !err.transient && err.responseCode >= 500;
}

export async function deadLetter(deps: DeadLetterDeps, d: DeadLetter): Promise<DeadLetterOutcome> {
  const id = mailIdOf(d.body);
  const reason = isMailbagError(d.error)
    ? d.error.reply
    : String((d.error as Error)?.message ?? d.error);
  let body: unknown;
  try {
    body = JSON.parse(d.body);
  } catch {
    body = { unparsable: d.body };
  }
  // A delivery job's `fresh` mark (no status record can exist yet) is no longer true once it
  // was attempted: redriven from here, it must read the status record like any retry.
  if (typeof body === "object" && body !== null && "fresh" in body) {
    const { fresh: _attempted, ...rest } = body as Record<string, unknown>;
    body = rest;
  }
  await deps.queue.send(d.queue, body, d.groupId, d.deduplicationId);
  if (id === undefined) return { id, reason };
  // Best effort from here on: the job is safe in the dead-letter queue whatever fails now.
  const at = (deps.now ?? (() => new Date()))().toISOString();
  let report: DeadLetterOutcome["report"];
  try {
    const raw = await deps.store.getJson(keys.status(id));
    const status = raw === undefined ? { id, recipients: {} } : parseStatus(raw);
    status.deadLetter = { queue: d.queue, reason, at };
    // The envelope itself may be what is broken: then there is nobody to report to.
    const envelope = await deps.store
      .getJson(keys.envelope(id))
      .then((e) => (e === undefined ? undefined : parseEnvelope(e)))
      .catch(() => undefined);
    const recipients = (body as { recipients?: unknown }).recipients;
    const open = Array.isArray(recipients)
      ? recipients.filter(
          (r): r is string =>
            typeof r === "string" &&
            status.recipients[r]?.state !== "delivered" &&
            status.recipients[r]?.state !== "failed",
        )
      : [];
    if (envelope && isPermanent(d.error)) {
      for (const r of open) {
        const attempts = (status.recipients[r]?.attempts ?? 0) + 1;
        status.recipients[r] = { state: "failed", reply: reason, at, attempts };
      }
      report = await reportInto(
        deps.reports,
        envelope,
        status,
        open.map((address) => ({
          address,
          action: "failed",
          status: enhancedCodeOf(reason),
          diagnostic: reason,
        })),
      );
    }
    await deps.store.putJson(keys.status(id), status);
  } catch (err) {
    return { id, reason, report: { kind: "failed", error: (err as Error).message } };
  }
  return { id, reason, ...(report ? { report } : {}) };
}
