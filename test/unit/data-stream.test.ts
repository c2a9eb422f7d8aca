/**
 * What the smart host transport writes after DATA (nodemailer's DataStream, patched with a fast
 * path for chunks that need no change: patches/nodemailer+10.6.0.patch) against RFC 5321 read
 * directly: lines end in CRLF (a bare CR or LF becomes CRLF, so "\r.\r" cannot end the data
 * early), a line starting with "." gets one more (§4.5.2), and the data ends with CRLF "." CRLF
 * (§4.1.1.4). Random bodies over the bytes that matter, cut into random chunks.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";
import fc from "fast-check";
import DataStream from "nodemailer/lib/smtp-connection/data-stream";

function expected(body: string): string {
  const lines = body.replace(/\r\n|\r|\n/g, "\r\n");
  const stuffed = lines.replace(/(^|\r\n)\./g, "$1..");
  return `${stuffed}${stuffed.endsWith("\r\n") ? "" : "\r\n"}.\r\n`;
}

async function throughDataStream(chunks: readonly string[]): Promise<string> {
  const out: Buffer[] = [];
  const stream = Readable.from(chunks.map((c) => Buffer.from(c, "latin1"))).pipe(new DataStream());
  for await (const c of stream) out.push(c as Buffer);
  return Buffer.concat(out).toString("latin1");
}

test("dot-stuffing and line ends: the patched stream equals RFC 5321's rules on every input", async () => {
  const byte = fc.constantFrom("a", ".", "\r", "\n", "\r\n", ".\r\n");
  const input = fc.tuple(fc.array(byte, { maxLength: 40 }), fc.array(fc.nat(40), { maxLength: 6 }));
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(input, async ([parts, cuts]) => {
      cases++;
      const body = parts.join("");
      const at = [...new Set(cuts.map((c) => Math.min(c, body.length)))].sort((a, b) => a - b);
      const chunks = [0, ...at].map((from, i) => body.slice(from, at[i] ?? body.length));
      assert.equal(await throughDataStream(chunks.filter((c) => c !== "")), expected(body));
    }),
    { numRuns: 20_000 },
  );
  assert.equal(cases, 20_000);
});

test("an 8 KB message of CRLF lines passes unchanged apart from the terminating dot", async () => {
  const body = `Subject: x\r\n\r\n${`${"y".repeat(76)}\r\n`.repeat(100)}`;
  assert.equal(await throughDataStream([body.slice(0, 4000), body.slice(4000)]), `${body}.\r\n`);
});
