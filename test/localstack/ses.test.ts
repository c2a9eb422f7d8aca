/**
 * Amazon SES as the smart host, against LocalStack's SES (part of `npm run test:localstack`:
 * the embedded emulator has no SES). LocalStack keeps what was sent and serves it from
 * `GET /_aws/ses`; its SES quota counts every envelope destination (plus the To/Cc/Bcc header
 * addresses) of each SendRawEmail, which is how the Bcc recipient is seen in the envelope.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { GetSendQuotaCommand, SESClient, VerifyEmailIdentityCommand } from "@aws-sdk/client-ses";
import { type DeliveryStatus, parseStatus } from "../../core/envelope.ts";
import { keys } from "../../core/names.ts";
import { send } from "../helpers/client.ts";
import { startTestNetwork, type TestNetwork, testConfig } from "../helpers/network.ts";
import { parseReport } from "../helpers/report.ts";
import { waitUntil } from "../helpers/sink.ts";

const endpoint = process.env.AWS_ENDPOINT_URL ?? "";
/** A region of our own, so other runs' SES sends do not count in our quota figures. */
const REGION = "ap-northeast-3";
let gw: TestNetwork;
let ses: SESClient;

before(async () => {
  assert.ok(endpoint, "the LocalStack suite sets AWS_ENDPOINT_URL");
  ses = new SESClient({
    region: REGION,
    endpoint,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  await ses.send(new VerifyEmailIdentityCommand({ EmailAddress: "jsmith@hq.company.test" }));
  const config = testConfig("smtp://127.0.0.1:9", (c) => {
    // LocalStack community emulates only the v1 API (SESv2 answers 501 "not included in your
    // license plan"), so the streamed request is proven here through its v1 frame.
    c.smartHost = { ses: { region: REGION, api: "v1" } };
  });
  gw = await startTestNetwork(config, endpoint);
});

after(async () => {
  await gw?.stop();
  ses?.destroy();
});

interface SentEmail {
  Id: string;
  Region: string;
  Source: string;
  /** Only SendRawEmail's; other runs' SendEmail calls on the shared LocalStack have none. */
  RawData?: string;
}

async function sentEmails(): Promise<SentEmail[]> {
  const res = await fetch(new URL("/_aws/ses", endpoint));
  return ((await res.json()) as { messages: SentEmail[] }).messages;
}

async function status(id: string): Promise<DeliveryStatus | undefined> {
  const text = await gw.object(keys.status(id));
  return text === undefined ? undefined : parseStatus(JSON.parse(text));
}

/**
 * The SES message whose Subject is `marker`, once LocalStack has it, and the bytes after our
 * Received: header (the message as the client sent it, which starts with its From: field).
 */
async function arrived(marker: string, timeoutMs: number) {
  let sent: SentEmail | undefined;
  await waitUntil(
    async () => {
      sent = (await sentEmails()).find((m) => m.RawData?.includes(`Subject: ${marker}\r\n`));
      return sent !== undefined;
    },
    timeoutMs,
    () => `${marker} at LocalStack's SES`,
  );
  const rawData = Buffer.from(sent?.RawData ?? "", "utf8");
  const start = rawData.indexOf("From: jsmith@hq.company.test\r\n");
  assert.ok(start > 0, "our Received: header first, then the message");
  return { sent, message: rawData.subarray(start) };
}

const sentCount = async () =>
  (await ses.send(new GetSendQuotaCommand({}))).SentLast24Hours ?? Number.NaN;

test("SES smart host: the message arrives intact, with every envelope recipient (Bcc too)", async () => {
  const marker = `ses-${gw.runtime.config.prefix}`;
  const raw = Buffer.from(
    `From: jsmith@hq.company.test\r\nTo: to@partner.test\r\nSubject: ${marker}\r\n` +
      `Message-ID: <${marker}@hq.company.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n` +
      "Grüße aus der Zentrale.\r\n",
  );
  const countBefore = await sentCount();
  const r = await send({
    port: gw.port(),
    from: "jsmith@hq.company.test",
    // bcc@ is in no header: only the envelope names it.
    to: ["to@partner.test", "bcc@partner.test"],
    raw,
  });
  assert.equal(r.ok, true, r.reply);
  const { sent, message } = await arrived(marker, 20_000);
  assert.equal(sent?.Region, REGION);
  assert.equal(sent?.Source, "jsmith@hq.company.test");
  assert.ok(message.equals(raw), "message bytes intact");
  // Two envelope destinations plus the one To: header address.
  assert.equal((await sentCount()) - countBefore, 3, "SES got both envelope recipients");
  const s = await status(r.id ?? "");
  assert.equal(s?.recipients["bcc@partner.test"]?.state, "delivered");
  assert.match(s?.recipients["bcc@partner.test"]?.reply ?? "", /^250 .*SES message id/);
});

test("SES smart host: a 1 MB message streams through intact (many mailbag reads, base64 carried across them)", async () => {
  // LocalStack parses no form field over 2 MiB (werkzeug's form memory limit, raised to that by
  // its SQS provider), so 1 MB is about the largest it takes; the sizes SES itself takes are
  // measured in bench/ses-memory.ts against a signature-checking stand-in.
  const marker = `ses-big-${gw.runtime.config.prefix}`;
  const attachment = readFileSync(new URL("../fixtures/multipart-attachment.eml", import.meta.url));
  const body = Buffer.concat(Array.from({ length: 36 }, () => attachment)).subarray(0, 1_000_001);
  const raw = Buffer.concat([
    Buffer.from(
      `From: jsmith@hq.company.test\r\nTo: big@partner.test\r\nSubject: ${marker}\r\n\r\n`,
    ),
    body,
    Buffer.from("\r\n"),
  ]);
  const r = await send({
    port: gw.port(),
    from: "jsmith@hq.company.test",
    to: "big@partner.test",
    raw,
  });
  assert.equal(r.ok, true, r.reply);
  const { message } = await arrived(marker, 30_000);
  assert.equal(message.length, raw.length, "as long as the original");
  assert.ok(message.equals(raw), "message bytes intact");
});

test("SES refuses the sender (not verified): the recipient fails and the bounce lands in HQ's mailbag", async () => {
  const r = await send({
    port: gw.port(),
    from: "unverified@hq.company.test",
    to: "someone@partner.test",
    raw: Buffer.from("From: unverified@hq.company.test\r\nSubject: ses-refused\r\n\r\nhello\r\n"),
  });
  assert.equal(r.ok, true, r.reply);
  let dsn: string | undefined;
  await waitUntil(
    async () => {
      dsn = (await status(r.id ?? ""))?.recipients["someone@partner.test"]?.dsn;
      return dsn !== undefined;
    },
    20_000,
    () => "refusal reported",
  );
  const s = await status(r.id ?? "");
  assert.equal(s?.recipients["someone@partner.test"]?.state, "failed");
  assert.match(s?.recipients["someone@partner.test"]?.reply ?? "", /MessageRejected/);
  let report: string | undefined;
  await waitUntil(
    async () => {
      report = await gw.object(keys.inbound("HQ", dsn ?? ""));
      return report !== undefined;
    },
    20_000,
    () => "bounce in HQ's inbound mailbag",
  );
  const { blocks } = await parseReport(report ?? "");
  assert.equal(blocks[1]?.["Final-Recipient"], "rfc822; someone@partner.test");
  assert.equal(blocks[1]?.Action, "failed");
  assert.equal(blocks[1]?.Status, "5.7.1");
  assert.match(blocks[1]?.["Diagnostic-Code"] ?? "", /^smtp; 554 5\.7\.1 SES MessageRejected/);
});
