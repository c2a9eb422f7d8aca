/**
 * The outbound mailbag (docs/postoffices.md#outbound-mailbag): objects under `outbound/<PO>/`
 * taken in through the accept path, with and without an envelope object, Bcc stripped, and
 * what cannot be taken in moved to `rejected/` with its reason. On both emulators; locally the
 * intake polls (no S3 event notifications).
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { gatewayResources, keys } from "../../core/names.ts";
import { subjectOf, withoutTrace } from "../helpers/postoffice.ts";
import { waitUntil } from "../helpers/sink.ts";
import { gatewaySuite, runMailbag } from "../helpers/suite.ts";

const dir = mkdtempSync(join(tmpdir(), "mailbag-submit-"));

const suite = gatewaySuite({
  change: (c) => {
    c.limits = { maxMessageBytes: 64 * 1024 };
  },
  configFile: (config) => config,
});

const put = (key: string, body: string | Buffer) =>
  suite.gw.clients.s3.send(
    new PutObjectCommand({
      Bucket: gatewayResources(suite.config.prefix, "GW1").bucket,
      Key: key,
      Body: body,
    }),
  );

const atSmartHost = (subject: string) =>
  suite.smartHost.messages.filter((m) => subjectOf(m.raw) === subject);

const gone = (key: string) =>
  waitUntil(
    async () => !(await suite.gw.exists(key)),
    15_000,
    () => `${key} taken away`,
  );

const message = (subject: string, fields: string) =>
  `From: J Smith <jsmith@hq.company.test>\r\n${fields}Subject: ${subject}\r\nMessage-ID: <${subject}@hq.company.test>\r\n\r\nbody of ${subject}\r\n.leading dot\r\n`;

describe("outbound mailbag", () => {
  test("envelope from the headers: To, Cc and Bcc are the recipients, Bcc does not go on", async () => {
    const fields =
      "To: someone@partner.test\r\nCc: Other <other@partner.test>\r\nBcc: hidden@partner.test,\r\n  also-hidden@partner.test\r\n";
    const raw = message("from-headers", fields);
    await put("outbound/HQ/from-headers.eml", raw);
    await gone("outbound/HQ/from-headers.eml");
    await waitUntil(
      () => atSmartHost("from-headers").length === 1,
      15_000,
      () => "at smart host",
    );
    const [m] = atSmartHost("from-headers");
    assert.equal(m?.mailFrom, "jsmith@hq.company.test");
    assert.deepEqual(m?.rcptTo, [
      "someone@partner.test",
      "other@partner.test",
      "hidden@partner.test",
      "also-hidden@partner.test",
    ]);
    const got = withoutTrace(m?.raw ?? Buffer.alloc(0)).toString();
    assert.doesNotMatch(got, /^Bcc:/im);
    assert.doesNotMatch(got, /hidden/);
    assert.equal(got, raw.replace(/Bcc: [^\r]*\r\n {2}[^\r]*\r\n/, ""));
    assert.match(m?.raw.toString() ?? "", /^Received: from outbound\.hq\.mailbag /);
  });

  test("an envelope object beside the message wins over the headers", async () => {
    await put(
      "outbound/HQ/with-envelope.envelope.json",
      JSON.stringify({ mailFrom: "batch@hq.company.test", rcptTo: ["list@partner.test"] }),
    );
    const raw = message("with-envelope", "To: undisclosed-recipients:;\r\n");
    await put("outbound/HQ/with-envelope.eml", raw);
    await gone("outbound/HQ/with-envelope.eml");
    await waitUntil(
      () => atSmartHost("with-envelope").length === 1,
      15_000,
      () => "at smart host",
    );
    const [m] = atSmartHost("with-envelope");
    assert.equal(m?.mailFrom, "batch@hq.company.test");
    assert.deepEqual(m?.rcptTo, ["list@partner.test"]);
    assert.equal(withoutTrace(m?.raw ?? Buffer.alloc(0)).toString(), raw);
    assert.equal(await suite.gw.object("outbound/HQ/with-envelope.envelope.json"), undefined);
  });

  const rejects: [string, string | Buffer, RegExp][] = [
    [
      "not-a-message",
      Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 10, 10, 65]),
      /^554 5\.6\.0 Not a message/,
    ],
    ["no-recipients", message("no-recipients", ""), /^554 5\.5\.1 No recipients/],
    [
      "foreign-sender",
      message("foreign-sender", "To: x@partner.test\r\n").replace(
        "jsmith@hq.company.test",
        "jsmith@sales.company.test",
      ),
      /^553 5\.7\.1 Sender address <jsmith@sales\.company\.test> does not belong to postoffice HQ/,
    ],
    [
      "too-large",
      message("too-large", "To: x@partner.test\r\n") + "x".repeat(70 * 1024),
      /^552 5\.3\.4 /,
    ],
  ];
  for (const [name, body, reply] of rejects) {
    test(`${name}: moved to rejected/ with its reason, nothing sent`, async () => {
      await put(`outbound/HQ/${name}.eml`, body);
      await gone(`outbound/HQ/${name}.eml`);
      const kept = await suite.gw.object(`${keys.rejected("HQ")}${name}.eml`);
      assert.equal(kept, Buffer.from(body).toString());
      const reason = JSON.parse(
        (await suite.gw.object(`${keys.rejected("HQ")}${name}.reason.json`)) ?? "{}",
      );
      assert.match(reason.reply, reply);
      assert.equal(reason.object, `outbound/HQ/${name}.eml`);
      assert.equal(atSmartHost(name).length, 0);
    });
  }
});

/** `mailbag submit` as a postoffice would run it, against this test's backend. */
async function submit(args: string[]): Promise<{ code: number | null; out: string }> {
  const r = await runMailbag(suite.backend.endpoint, ["submit", "-c", suite.configFile, ...args]);
  return { code: r.status, out: r.both };
}

describe("mailbag submit", () => {
  test("From/To/Bcc in the headers: the smart host gets both recipients, no Bcc header", async () => {
    const file = join(dir, "msg.eml");
    const raw = message("submitted", "To: someone@partner.test\r\nBcc: hidden@partner.test\r\n");
    writeFileSync(file, raw);
    const r = await submit(["--postoffice", "HQ", file]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /msg\.eml: s3:\/\/.*\/outbound\/HQ\/[0-9A-Z]{26}\.eml \(\d+ bytes\)/);
    await waitUntil(
      () => atSmartHost("submitted").length === 1,
      20_000,
      () => "at smart host",
    );
    const [m] = atSmartHost("submitted");
    assert.deepEqual(m?.rcptTo, ["someone@partner.test", "hidden@partner.test"]);
    assert.equal(
      withoutTrace(m?.raw ?? Buffer.alloc(0)).toString(),
      raw.replace("Bcc: hidden@partner.test\r\n", ""),
    );
  });

  test("--from/--to write the envelope object: it wins over the headers", async () => {
    const file = join(dir, "batch.eml");
    writeFileSync(file, message("submitted-envelope", "To: someone@partner.test\r\n"));
    const r = await submit([
      "--postoffice",
      "hq",
      "--from",
      "batch@hq.company.test",
      "--to",
      "a@partner.test",
      "--to",
      "b@partner.test",
      file,
    ]);
    assert.equal(r.code, 0, r.out);
    await waitUntil(
      () => atSmartHost("submitted-envelope").length === 1,
      20_000,
      () => "at smart host",
    );
    const [m] = atSmartHost("submitted-envelope");
    assert.equal(m?.mailFrom, "batch@hq.company.test");
    assert.deepEqual(m?.rcptTo, ["a@partner.test", "b@partner.test"]);
  });
});
