/**
 * Delivery reports (RFC 3464) built from real .eml fixtures, read back with mailparser as a mail
 * client would; NOTIFY rules (RFC 3461); backoff and retry-line rules; the delivery config.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { parseConfig } from "../../core/config.ts";
import { holdSeconds, retryDelaySeconds } from "../../core/config-delivery.ts";
import { buildDsn, type DsnInput, decodeXtext, notifyWants } from "../../core/dsn.ts";
import { ConfigError } from "../../core/errors.ts";
import { releaseRetry } from "../../core/retry.ts";
import { fixture } from "../helpers/network.ts";
import { parseReport } from "../helpers/report.ts";
import { memoryQueue } from "../helpers/routing-fixtures.ts";

async function text(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of `data` in chunks of `size` bytes, counting how much of it was read. */
function chunked(data: Buffer, size: number): Readable & { read_: () => number } {
  let offset = 0;
  const s = new Readable({
    read() {
      if (offset >= data.length) return this.push(null);
      this.push(data.subarray(offset, offset + size));
      offset += size;
    },
  });
  return Object.assign(s, { read_: () => offset });
}

const input = (over: Partial<DsnInput> = {}): DsnInput => ({
  reportingMta: "msmailgwy.company.test",
  id: "01KBNQ0000000000000000TEST",
  to: "jsmith@hq.company.test",
  arrival: new Date(Date.UTC(2026, 11, 1, 23, 0, 0)),
  recipients: [
    {
      address: "nobody@partner.test",
      action: "failed",
      status: "5.1.1",
      diagnostic: "550 5.1.1 <nobody@partner.test>: Recipient address rejected",
      remoteMta: "127.0.0.1",
      lastAttempt: new Date(Date.UTC(2026, 11, 1, 23, 0, 5)),
    },
  ],
  now: new Date(Date.UTC(2026, 11, 1, 23, 0, 6)),
  original: Readable.from([fixture("multipart-attachment.eml")]),
  ...over,
});

describe("RFC 3464 report", () => {
  test("multipart/report with a human part, delivery-status fields and the original's header", async () => {
    const raw = await text(buildDsn(input()));
    const { mail, blocks } = await parseReport(raw);
    assert.equal(mail.from?.value[0]?.address, "MAILER-DAEMON@msmailgwy.company.test");
    assert.equal(mail.headers.get("auto-submitted"), "auto-replied");
    const ct = mail.headers.get("content-type") as {
      value: string;
      params: Record<string, string>;
    };
    assert.equal(ct.value, "multipart/report");
    assert.equal(ct.params["report-type"], "delivery-status");
    assert.match(mail.text ?? "", /could not be delivered/);
    assert.match(mail.text ?? "", /<nobody@partner\.test>: failed: 550 5\.1\.1/);
    assert.equal(blocks[0]?.["Reporting-MTA"], "dns; msmailgwy.company.test");
    assert.equal(blocks[0]?.["Arrival-Date"], "Tue, 1 Dec 2026 23:00:00 +0000");
    assert.equal(blocks.length, 2);
    assert.equal(blocks[1]?.["Final-Recipient"], "rfc822; nobody@partner.test");
    assert.equal(blocks[1]?.Action, "failed");
    assert.equal(blocks[1]?.Status, "5.1.1");
    assert.equal(blocks[1]?.["Remote-MTA"], "dns; 127.0.0.1");
    assert.equal(
      blocks[1]?.["Diagnostic-Code"],
      "smtp; 550 5.1.1 <nobody@partner.test>: Recipient address rejected",
    );
    const headers = mail.attachments.find((a) => a.contentType === "text/rfc822-headers");
    assert.ok(headers, "the original's header section (RET absent = HDRS)");
    const original = fixture("multipart-attachment.eml").toString("latin1");
    const headerEnd = original.indexOf("\r\n\r\n");
    assert.equal(headers.content.toString("latin1").trimEnd(), original.slice(0, headerEnd));
  });

  test("RET=HDRS reads only the header section of a large original, not its body", async () => {
    const big = Buffer.concat([
      Buffer.from("Subject: big\r\nFrom: a@b.test\r\n\r\n"),
      Buffer.alloc(8 * 1024 * 1024, 0x61),
    ]);
    const original = chunked(big, 64 * 1024);
    const raw = await text(buildDsn(input({ original })));
    assert.ok(original.read_() <= 3 * 64 * 1024, `read ${original.read_()} bytes of 8 MiB`);
    assert.ok(raw.length < 8 * 1024, "report carries no body");
    assert.match(raw.toString(), /Subject: big\r\nFrom: a@b\.test\r\n\r\n--=_mailbag/);
  });

  test("the empty line that ends the header is found across chunk boundaries", async () => {
    const eml = fixture("plain.eml");
    const headerEnd = eml.indexOf("\r\n\r\n") + 2;
    for (const size of [1, 2, 3, 5, 7]) {
      const raw = await text(buildDsn(input({ original: chunked(eml, size) })));
      const { mail } = await parseReport(raw);
      const part = mail.attachments.find((a) => a.contentType === "text/rfc822-headers");
      assert.equal(part?.content.toString("latin1"), eml.subarray(0, headerEnd).toString("latin1"));
    }
  });

  test("RET=FULL returns the whole original as message/rfc822; ENVID and ORCPT are reported", async () => {
    const eml = fixture("utf8-8bit.eml");
    const raw = await text(
      buildDsn(
        input({
          ret: "FULL",
          envid: "QQ314159+2Bx",
          original: Readable.from([eml]),
          recipients: [
            {
              address: "b@partner.test",
              orcpt: "rfc822;Bob+2BSmith@partner.test",
              action: "failed",
              status: "5.7.1",
              diagnostic: "554 5.7.1 Message refused",
            },
          ],
        }),
      ),
    );
    assert.ok(raw.includes(eml), "original returned byte for byte");
    const { blocks } = await parseReport(raw);
    assert.equal(blocks[0]?.["Original-Envelope-Id"], "QQ314159+x");
    assert.equal(blocks[1]?.["Original-Recipient"], "rfc822; Bob+Smith@partner.test");
    assert.equal(blocks[1]?.Status, "5.7.1");
  });

  test("a relayed report says so", async () => {
    const raw = await text(
      buildDsn(
        input({
          recipients: [{ address: "ok@partner.test", action: "relayed", status: "2.0.0" }],
        }),
      ),
    );
    const { mail, blocks } = await parseReport(raw);
    assert.match(mail.subject ?? "", /Successful/);
    assert.equal(blocks[1]?.Action, "relayed");
  });
});

describe("NOTIFY (RFC 3461 §4.1)", () => {
  test("absent means failures only; NEVER means nothing; SUCCESS covers delivered and relayed", () => {
    assert.equal(notifyWants(undefined, "failed"), true);
    assert.equal(notifyWants(undefined, "delayed"), false);
    assert.equal(notifyWants(undefined, "relayed"), false);
    assert.equal(notifyWants("NEVER", "failed"), false);
    assert.equal(notifyWants("SUCCESS", "failed"), false);
    assert.equal(notifyWants("SUCCESS,FAILURE", "relayed"), true);
    assert.equal(notifyWants("delay", "delayed"), true);
    assert.equal(decodeXtext("a+2Bb+3Dc"), "a+b=c");
  });
});

describe("retry policy", () => {
  const config = (delivery: unknown) =>
    parseConfig({
      network: "COMPANY",
      postoffices: [{ id: "HQ", domain: "hq.company.test" }],
      gateways: [{ id: "GW1", mode: "both", postoffices: ["HQ"] }],
      smartHost: { url: "smtp://127.0.0.1:2526" },
      ...(delivery === undefined ? {} : { delivery }),
    });

  test("defaults are Postfix's: 300 s doubling to 4000 s, 5 days lifetime", () => {
    const d = config(undefined).delivery;
    assert.equal(d.queueLifetimeSeconds, 5 * 86400);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => retryDelaySeconds(d, n)),
      [300, 600, 1200, 2400, 4000, 4000],
    );
    assert.deepEqual(
      [1, 2, 3, 7, 100].map((n) => holdSeconds(d, n)),
      [10, 20, 40, 600, 600],
    );
  });

  test("bad values name the field", () => {
    const bad = (delivery: unknown, path: RegExp) =>
      assert.throws(
        () => config(delivery),
        (e: unknown) => e instanceof ConfigError && path.test(e.path),
      );
    bad({ retry: { initialSeconds: 600, maxSeconds: 60 } }, /^delivery\.retry\.initialSeconds$/);
    bad({ queueLifetimeSeconds: 5 }, /^delivery\.queueLifetimeSeconds$/);
    bad({ hold: { maxSeconds: 10 } }, /^delivery\.hold/);
    bad({ retries: 3 }, /^delivery$/);
  });

  test("a retry job goes back to the FIFO line when due, waits again when not", async () => {
    const queue = memoryQueue();
    const now = new Date(Date.UTC(2026, 11, 1, 23, 0, 0));
    const deps = {
      queue,
      deliverQueue: "d.fifo",
      pushQueue: "p.fifo",
      retryQueue: "r",
      now: () => now,
    };
    const job = {
      v: 1 as const,
      id: "M1",
      gateway: "GW1",
      recipients: ["a@x.test"],
      attempt: 2,
      due: new Date(now.getTime() + 3600_000).toISOString(),
    };
    assert.equal(await releaseRetry(deps, job), "waiting");
    assert.equal(queue.sent[0]?.queue, "r");
    assert.equal(queue.sent[0]?.delaySeconds, 900, "SQS's longest delay, then again");
    assert.equal(await releaseRetry(deps, { ...job, due: now.toISOString() }), "released");
    assert.equal(queue.sent[1]?.queue, "d.fifo");
    assert.equal(queue.sent[1]?.group, "GW1");
    assert.match(queue.sent[1]?.dedup ?? "", /^M1\.[0-9a-f]{16}\.r2$/);
    assert.deepEqual(queue.sent[1]?.body, {
      v: 1,
      id: "M1",
      gateway: "GW1",
      recipients: ["a@x.test"],
    });
  });
});
