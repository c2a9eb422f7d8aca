/** Reads a delivery report (RFC 3464) as a mail client would: mailparser, then its fields. */
import assert from "node:assert/strict";
import { type ParsedMail, simpleParser } from "mailparser";

export interface ParsedReport {
  readonly mail: ParsedMail;
  /** The message/delivery-status field blocks: [per-message, ...per-recipient]. */
  readonly blocks: Record<string, string>[];
}

export async function parseReport(raw: string | Buffer): Promise<ParsedReport> {
  // keepDeliveryStatus: the report part as an attachment, not folded into the text.
  const mail = await simpleParser(raw, { keepDeliveryStatus: true });
  const part = mail.attachments.find((a) => a.contentType === "message/delivery-status");
  assert.ok(part, "a message/delivery-status part");
  const blocks = part.content
    .toString("utf8")
    .trim()
    .split(/\r?\n\r?\n/)
    .map(
      (b) =>
        Object.fromEntries(b.split(/\r?\n/).map((l) => l.split(/: (.*)/s).slice(0, 2))) as Record<
          string,
          string
        >,
    );
  return { mail, blocks };
}
