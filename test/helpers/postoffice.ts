/** Helpers for the postoffice exchange suites (push, pickup, outbound mailbag). */
import assert from "node:assert/strict";

/**
 * The message minus the trace fields this gateway prepends (its Received: field with folded
 * lines, then Mailbag-Trace): what a postoffice must receive byte for byte.
 */
export function withoutTrace(raw: Buffer, gateway = "GW1"): Buffer {
  const text = raw.toString("latin1");
  const m = /^Received: from [^\r]*\r\n(\t[^\r]*\r\n)*Mailbag-Trace: [^\r]*\r\n/.exec(text);
  assert.ok(m, "message starts with our Received: and Mailbag-Trace: fields");
  assert.match(m[0], new RegExp(`\\(Mailbag Gateway ${gateway}\\)`));
  return raw.subarray(Buffer.byteLength(m[0], "latin1"));
}

/** A small message with a unique Subject, so a test finds its own. */
export function marked(marker: string, from = "jm@partner.test", to = "jsmith@sales.company.test") {
  return Buffer.from(
    `From: ${from}\r\nTo: ${to}\r\nSubject: ${marker}\r\nMessage-ID: <${marker}@partner.test>\r\n\r\nbody of ${marker}\r\n`,
  );
}

export const subjectOf = (raw: Buffer | string) =>
  /^Subject: (.*)\r?$/m.exec(raw.toString())?.[1]?.trim();
