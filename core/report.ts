/**
 * Sending a delivery report (bounce) about a message: filtered by each recipient's NOTIFY,
 * never to a null sender, built by dsn.ts from the stored envelope and the stored original
 * (streamed), and handed to acceptMessage — the same accept path as mail from any client, so
 * the router puts a report for a postoffice user into that postoffice's inbound mailbag and
 * sends one for an outside sender through the smart host.
 */
import { type AcceptDeps, acceptMessage } from "./accept.ts";
import { buildDsn, type DsnRecipient, isAscii, notifyWants } from "./dsn.ts";
import type { DeliveryStatus, Envelope } from "./envelope.ts";
import { newMessageId } from "./ids.ts";
import { keys } from "./names.ts";
import { rfc5322Date } from "./received.ts";

export interface ReportDeps {
  /** Where the report is accepted: the reporting gateway's own mailbag and route queue. */
  readonly accept: AcceptDeps;
  /** The gateway's host name: Reporting-MTA, MAILER-DAEMON@ and the Received: field. */
  readonly reportingMta: string;
  readonly gateway: string;
  /** Largest report accepted; RET=FULL of a message near the limit falls back to headers. */
  readonly maxBytes: number;
  readonly now?: () => Date;
}

export type ReportOutcome =
  | { readonly kind: "sent"; readonly id: string; readonly recipients: readonly string[] }
  | { readonly kind: "none"; readonly reason: "null-sender" | "notify" };

/** What became of a report: sent, not wanted, or failed (logged by the caller and dropped). */
export type ReportResult = ReportOutcome | { readonly kind: "failed"; readonly error: string };

/**
 * Sends one report and notes it in each recipient's status entry (`dsn`: the report's id, or
 * why there is none), so a retried job never reports twice. Never throws: a report that cannot
 * be sent must not turn a finished delivery into a repeated one.
 */
export async function reportInto(
  deps: ReportDeps,
  envelope: Envelope,
  status: DeliveryStatus,
  recipients: readonly DsnRecipient[],
): Promise<ReportResult | undefined> {
  if (recipients.length === 0) return undefined;
  let result: ReportResult;
  try {
    result = await sendReport(deps, envelope, recipients);
  } catch (err) {
    result = { kind: "failed", error: (err as Error).message };
  }
  const note =
    result.kind === "sent" ? result.id : result.kind === "none" ? result.reason : "failed";
  for (const r of recipients) {
    const s = status.recipients[r.address];
    if (s) s.dsn = note;
  }
  return result;
}

/** Builds and accepts one report about `recipients` of the message `envelope` describes. */
export async function sendReport(
  deps: ReportDeps,
  envelope: Envelope,
  recipients: readonly DsnRecipient[],
): Promise<ReportOutcome> {
  // RFC 5321 §4.5.5 / RFC 3461 §6.2: never report to a null reverse-path (no bounce loops).
  if (envelope.mailFrom === "") return { kind: "none", reason: "null-sender" };
  const wanted = recipients.filter((r) =>
    notifyWants(envelope.rcptParams[r.address]?.NOTIFY, r.action),
  );
  if (wanted.length === 0) return { kind: "none", reason: "notify" };
  const now = (deps.now ?? (() => new Date()))();
  const id = newMessageId(now.getTime());
  const original = await deps.accept.store.getStream(keys.message(envelope.id));
  // The original plus our report must fit what our own ingress accepts.
  const full =
    envelope.params.RET?.toUpperCase() === "FULL" && envelope.size < deps.maxBytes - 65536;
  const data = buildDsn({
    reportingMta: deps.reportingMta,
    id,
    to: envelope.mailFrom,
    arrival: new Date(envelope.receivedAt),
    envid: envelope.params.ENVID,
    ret: full ? "FULL" : "HDRS",
    recipients: wanted.map((r) => ({
      ...r,
      orcpt: r.orcpt ?? envelope.rcptParams[r.address]?.ORCPT,
    })),
    now,
    original,
  });
  const header =
    `Received: by ${deps.reportingMta} (Mailbag Gateway ${deps.gateway}) id ${id}` +
    `\r\n\tfor <${envelope.mailFrom}>;\r\n\t${rfc5322Date(now)}\r\n`;
  // An 8-bit or UTF-8 original makes an 8-bit (or UTF-8) report when it is returned in full.
  const params: Record<string, string> = {};
  if (envelope.params.BODY?.toUpperCase() === "8BITMIME") params.BODY = "8BITMIME";
  if (envelope.params.SMTPUTF8 !== undefined || !isAscii(envelope.mailFrom)) {
    params.SMTPUTF8 = "";
  }
  await acceptMessage(deps.accept, {
    data,
    header,
    maxBytes: deps.maxBytes,
    envelope: {
      id,
      gateway: deps.gateway,
      mailFrom: "",
      rcptTo: [envelope.mailFrom],
      client: { address: "127.0.0.1", helo: deps.reportingMta, tls: false },
      receivedAt: now.toISOString(),
      params,
      rcptParams: {},
    },
  });
  return { kind: "sent", id, recipients: wanted.map((r) => r.address) };
}
