/**
 * Delivery Status Notifications: RFC 3464 reports for the RFC 3461 DSN extension. Pure: the
 * original message comes in as a stream and the report goes out as one, so a bounce never
 * holds the original in memory — with RET=HDRS (or no RET) only its header section is read,
 * with RET=FULL the whole message is streamed through into the message/rfc822 part.
 *
 * - https://www.rfc-editor.org/rfc/rfc3464 (format), https://www.rfc-editor.org/rfc/rfc3461
 *   (NOTIFY, RET, ENVID, ORCPT), https://www.rfc-editor.org/rfc/rfc6522 (multipart/report),
 *   https://www.rfc-editor.org/rfc/rfc3834 (Auto-Submitted).
 */
import { Readable } from "node:stream";
import { rfc5322Date } from "./received.ts";

/** RFC 3464 §2.3.3. */
export type DsnAction = "failed" | "delayed" | "delivered" | "relayed" | "expanded";

export interface DsnRecipient {
  /** The address the gateway tried (Final-Recipient). */
  readonly address: string;
  /** The client's ORCPT parameter as given (`rfc822;a+2Bb@x`), for Original-Recipient. */
  readonly orcpt?: string | undefined;
  readonly action: DsnAction;
  /** RFC 3463 status (class.subject.detail), from the reply or core/errors.ts's reportStatus. */
  readonly status: string;
  /** The SMTP reply that decided it, e.g. `550 <status> No such user`. */
  readonly diagnostic?: string | undefined;
  /** The host that gave that reply. */
  readonly remoteMta?: string | undefined;
  readonly lastAttempt?: Date | undefined;
}

export interface DsnInput {
  /** Our host name: Reporting-MTA and the MAILER-DAEMON address. */
  readonly reportingMta: string;
  /** Id of the report message itself (its Message-ID). */
  readonly id: string;
  /** Envelope sender of the original: the report's To. */
  readonly to: string;
  /** When the original was accepted (Arrival-Date). */
  readonly arrival: Date;
  /** Original-Envelope-Id (ENVID, xtext as given). */
  readonly envid?: string | undefined;
  /** RET: FULL returns the whole original, anything else its header section. */
  readonly ret?: string | undefined;
  readonly recipients: readonly DsnRecipient[];
  readonly now: Date;
  /** The original message as stored; destroyed once what RET asks for has been read. */
  readonly original: Readable;
}

/** RFC 3461 §4.1: NOTIFY values per recipient; absent means "FAILURE" (and, if we did, DELAY). */
export type Notify = readonly ("NEVER" | "SUCCESS" | "FAILURE" | "DELAY")[];

/** Whether a recipient with this NOTIFY wants a report for this action (RFC 3461 §6.1). */
export function notifyWants(notify: string | undefined, action: DsnAction): boolean {
  const values = (notify ?? "FAILURE").toUpperCase().split(",");
  if (values.includes("NEVER")) return false;
  if (action === "failed") return values.includes("FAILURE");
  if (action === "delayed") return values.includes("DELAY");
  return values.includes("SUCCESS");
}

/** Whether `s` is all ASCII (one UTF-8 byte per character): else it needs SMTPUTF8 (RFC 6531). */
export function isAscii(s: string): boolean {
  return Buffer.byteLength(s, "utf8") === s.length;
}

/** RFC 3461 §4: xtext, `+XX` hex escapes. */
export function decodeXtext(s: string): string {
  return s.replace(/\+([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

/** The report's subject and first line, by the worst action in it. */
function summary(recipients: readonly DsnRecipient[]): { subject: string; text: string } {
  if (recipients.some((r) => r.action === "failed")) {
    return {
      subject: "Undelivered Mail Returned to Sender",
      text: "Your message could not be delivered to one or more recipients. It has been given up on for good.",
    };
  }
  if (recipients.some((r) => r.action === "delayed")) {
    return {
      subject: "Delayed Mail (still being retried)",
      text: "Your message has not been delivered yet to one or more recipients. The gateway keeps trying; you need not send it again.",
    };
  }
  return {
    subject: "Successful Mail Delivery Report",
    text: "Your message was delivered (or handed to a system that sends no further reports) for the recipients below.",
  };
}

/** One header-safe line: report fields are ASCII lines; anything else is replaced. */
function line(s: string): string {
  return s
    .replace(/\r?\n[ \t]*/g, " ")
    .replace(/[^\x20-\x7e]/g, "?")
    .trim();
}

/** `address-type; address`: UTF-8 addresses are `utf-8` type (RFC 6533 §3), the rest `rfc822`. */
function typed(address: string): string {
  return isAscii(address)
    ? `rfc822; ${address}`
    : `utf-8; ${Buffer.from(address, "utf8")
        .toString("latin1")
        .replace(/[^\x20-\x7e]/g, "?")}`;
}

/** The message/delivery-status body (RFC 3464 §2.1): per-message fields, then per-recipient. */
export function deliveryStatus(input: Omit<DsnInput, "original" | "id" | "to">): string {
  const fields = [`Reporting-MTA: dns; ${input.reportingMta}`];
  if (input.envid) fields.push(`Original-Envelope-Id: ${line(decodeXtext(input.envid))}`);
  fields.push(`Arrival-Date: ${rfc5322Date(input.arrival)}`);
  const blocks = [fields.join("\r\n")];
  for (const r of input.recipients) {
    const f: string[] = [];
    if (r.orcpt) {
      const [type = "rfc822", ...rest] = decodeXtext(r.orcpt).split(";");
      f.push(`Original-Recipient: ${line(type)}; ${line(rest.join(";"))}`);
    }
    f.push(`Final-Recipient: ${typed(r.address)}`);
    f.push(`Action: ${r.action}`);
    f.push(`Status: ${r.status}`);
    if (r.remoteMta) f.push(`Remote-MTA: dns; ${line(r.remoteMta)}`);
    if (r.diagnostic) f.push(`Diagnostic-Code: smtp; ${line(r.diagnostic)}`);
    if (r.lastAttempt) f.push(`Last-Attempt-Date: ${rfc5322Date(r.lastAttempt)}`);
    blocks.push(f.join("\r\n"));
  }
  return `${blocks.join("\r\n\r\n")}\r\n`;
}

/**
 * The whole report as a stream: header, human-readable part, delivery-status part, then the
 * original's header section (text/rfc822-headers) or the original itself (message/rfc822).
 */
export function buildDsn(input: DsnInput): Readable {
  return Readable.from(dsnChunks(input), { objectMode: false });
}

async function* dsnChunks(input: DsnInput): AsyncGenerator<Buffer> {
  const boundary = `=_mailbag-dsn-${input.id}`;
  const { subject, text } = summary(input.recipients);
  const full = input.ret?.toUpperCase() === "FULL";
  const header = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`,
    `To: <${input.to}>`,
    `Subject: ${subject}`,
    `Date: ${rfc5322Date(input.now)}`,
    `Message-ID: <${input.id}@${input.reportingMta}>`,
    // RFC 3834 §5: an automatic reply; autoresponders must not answer it.
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"`,
  ].join("\r\n");
  const human = [
    text,
    "",
    ...input.recipients.map(
      (r) => `<${line(r.address)}>: ${r.action}${r.diagnostic ? `: ${line(r.diagnostic)}` : ""}`,
    ),
    "",
    `Reported by ${input.reportingMta}.`,
  ].join("\r\n");
  yield Buffer.from(
    `${header}\r\n\r\nThis is a MIME-encapsulated delivery status report.\r\n\r\n` +
      `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n` +
      `${human}\r\n\r\n` +
      `--${boundary}\r\nContent-Type: message/delivery-status\r\n\r\n` +
      `${deliveryStatus(input)}\r\n` +
      `--${boundary}\r\nContent-Type: ${full ? "message/rfc822" : "text/rfc822-headers"}\r\n` +
      `Content-Description: ${full ? "Undelivered message" : "Header of the undelivered message"}\r\n\r\n`,
    "utf8",
  );
  let endsWithNewline = true;
  for await (const chunk of full ? input.original : headerSection(input.original)) {
    const b = chunk as Buffer;
    if (b.length === 0) continue;
    endsWithNewline = b[b.length - 1] === 0x0a;
    yield b;
  }
  yield Buffer.from(`${endsWithNewline ? "" : "\r\n"}\r\n--${boundary}--\r\n`, "utf8");
}

/**
 * Yields the original's header section (up to, not including, the empty line), then stops
 * reading and destroys the stream: at most one chunk of the body is ever read.
 */
async function* headerSection(original: Readable): AsyncGenerator<Buffer> {
  // The last three bytes are held back: an empty line may be split across chunks.
  let held = Buffer.alloc(0);
  try {
    for await (const chunk of original) {
      const joined = Buffer.concat([held, chunk as Buffer]);
      const end = endOfHeader(joined);
      if (end >= 0) {
        yield joined.subarray(0, end);
        return;
      }
      const keep = Math.max(0, joined.length - 3);
      yield joined.subarray(0, keep);
      held = joined.subarray(keep);
    }
    yield held;
  } finally {
    original.destroy();
  }
}

/** Index just past the last header line's newline (before the empty line), or -1. */
function endOfHeader(b: Buffer): number {
  const crlf = b.indexOf("\r\n\r\n");
  const lf = b.indexOf("\n\n");
  if (crlf >= 0 && (lf < 0 || crlf <= lf)) return crlf + 2;
  if (lf >= 0) return lf + 1;
  return -1;
}
