/**
 * The SMTP ingress on listen(0) with a real client, backed by the embedded emulator (or the
 * endpoint under MAILBAG_TEST_BACKEND=endpoint). Functions are not running: each test inspects
 * exactly what the ingress stored and queued.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import { parseEnvelope } from "../../core/envelope.ts";
import { isConfigError } from "../../core/errors.ts";
import { MESSAGE_ID_PATTERN } from "../../core/ids.ts";
import { gatewayResources, keys } from "../../core/names.ts";
import { createIngress } from "../../functions/ingress/server.ts";
import { loadTls } from "../../functions/ingress/tls.ts";
import { queueUrlResolver } from "../../functions/shared/sqs-queue.ts";
import { dialog, type SendOptions, send } from "../helpers/client.ts";
import {
  fixture,
  type PartitionableRig,
  startPartitionable,
  type TestNetwork,
  testConfig,
} from "../helpers/network.ts";

/** The plain fixture from `from` to `to` on the gateway's ingress. */
const sendPlain = (from: string, to: string, extra: Partial<SendOptions> = {}) =>
  send({ port: gw.port(), from, to, raw: fixture("plain.eml"), ...extra });
process.env.MAILBAG_TEST_SUBMIT_PASSWORD = "s3cret-pa55";

let rig: PartitionableRig;
let gw: TestNetwork;

before(async () => {
  const config = testConfig("smtp://127.0.0.1:9", (c) => {
    c.limits = { maxMessageBytes: 64 * 1024, maxRecipients: 100 };
    // HQ submits from its network; SALES only with SMTP AUTH (127.0.0.1 is not in 10/8).
    c.postoffices[1] = {
      id: "SALES",
      domain: "sales.company.test",
      submit: {
        networks: ["10.0.0.0/8"],
        users: [{ username: "sales-app", passwordEnv: "MAILBAG_TEST_SUBMIT_PASSWORD" }],
      },
    };
  });
  rig = await startPartitionable(config, { ingress: true, route: false, deliver: false });
  gw = rig.gw;
});

after(() => rig?.stop());

const resources = () => gatewayResources(gw.runtime.config.prefix, "GW1");

async function storedKeys(): Promise<string[]> {
  const res = await gw.clients.s3.send(
    new ListObjectsV2Command({ Bucket: resources().bucket, Prefix: "messages/" }),
  );
  return (res.Contents ?? []).map((o) => o.Key ?? "");
}

async function routeQueueDepth(): Promise<number> {
  const url = await queueUrlResolver(gw.clients.sqs)(resources().queues.route);
  const res = await gw.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(res.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/**
 * Takes jobs off the route queue in FIFO order until the one for `id` (no functions run in this
 * file, so the earlier tests' jobs are consumed here), and returns it.
 */
async function findRouteJob(id: string) {
  const url = await queueUrlResolver(gw.clients.sqs)(resources().queues.route);
  for (let i = 0; i < 50; i++) {
    const res = await gw.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    for (const m of res.Messages ?? []) {
      if (JSON.parse(m.Body ?? "{}").id === id) return m;
      await gw.clients.sqs.send(
        new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }),
      );
    }
  }
  return undefined;
}

describe("EHLO", () => {
  test("advertises SIZE with the configured limit, STARTTLS and AUTH", async () => {
    const [greeting, ehlo] = await dialog(gw.port(), ["EHLO client.test", "QUIT"]);
    assert.match(greeting ?? "", /^220 .*Mailbag Gateway/);
    assert.match(ehlo ?? "", /^250[ -]SIZE 65536$/m);
    assert.match(ehlo ?? "", /^250[ -]STARTTLS$/m);
    assert.match(ehlo ?? "", /^250[ -]AUTH PLAIN LOGIN$/m);
  });
});

describe("RCPT policy (no open relay)", () => {
  test("an outside sender to a domain that is not ours gets 550 5.7.1", async () => {
    const r = await sendPlain("someone@outside.test", "x@nowhere.invalid");
    assert.equal(r.ok, false);
    assert.match(r.reply, /^550 5\.7\.1 Relaying denied for <x@nowhere\.invalid>/);
  });

  test("an outside sender to a postoffice we receive for gets 250 with a queue id", async () => {
    const r = await send({
      port: gw.port(),
      from: "jm@partner.test",
      to: "jsmith@sales.company.test",
      raw: fixture("utf8-8bit.eml"),
    });
    assert.equal(r.ok, true, r.reply);
    assert.match(r.reply, /^250 2\.0\.0 queued as /);
    assert.match(r.id ?? "", MESSAGE_ID_PATTERN);
  });

  test("a client in HQ's network may relay for HQ senders", async () => {
    const r = await sendPlain("jsmith@hq.company.test", "someone@partner.test");
    assert.equal(r.ok, true, r.reply);
  });

  test("SALES may not relay from outside its network without AUTH", async () => {
    const r = await sendPlain("rep@sales.company.test", "buyer@partner.test");
    assert.match(r.reply, /^550 5\.7\.1 Relaying denied/);
  });

  test("SALES may relay after STARTTLS + AUTH with its credentials", async () => {
    const r = await sendPlain("rep@sales.company.test", "buyer@partner.test", {
      starttls: true,
      auth: { user: "sales-app", pass: "s3cret-pa55" },
    });
    assert.equal(r.ok, true, r.reply);
    const envelope = parseEnvelope(
      JSON.parse((await gw.object(keys.envelope(r.id ?? ""))) ?? "null"),
    );
    assert.deepEqual(
      {
        tls: envelope.client.tls,
        user: envelope.client.user,
        postoffice: envelope.client.postoffice,
      },
      { tls: true, user: "sales-app", postoffice: "SALES" },
    );
  });

  test("a submit user without its password variable: refused at start, naming the field", async () => {
    const { config } = gw.runtime;
    const tls = await loadTls({ settings: config.tls, hostname: "gw1.mailbag.invalid" });
    const start = (secrets: NodeJS.ProcessEnv) =>
      createIngress({
        map: gw.runtime.map,
        gatewayId: "GW1",
        hostname: "gw1.mailbag.invalid",
        deps: gw.runtime.acceptDeps("GW1"),
        secrets,
        tls,
      });
    assert.throws(
      () => start({}),
      (err: unknown) =>
        isConfigError(err) &&
        /postoffices\[1\]\.submit\.users\[0\]\.passwordEnv/.test(err.message) &&
        /MAILBAG_TEST_SUBMIT_PASSWORD is not set/.test(err.message),
    );
    start({ MAILBAG_TEST_SUBMIT_PASSWORD: "s3cret-pa55" }).close();
  });

  test("a wrong password gets 535 5.7.8", async () => {
    const r = await sendPlain("rep@sales.company.test", "buyer@partner.test", {
      starttls: true,
      auth: { user: "sales-app", pass: "wrong" },
    });
    assert.equal(r.ok, false);
    assert.match(r.reply, /^535 5\.7\.8/);
  });

  test("an authenticated SALES user may not send as HQ: 553 5.7.1", async () => {
    const r = await sendPlain("ceo@hq.company.test", "buyer@partner.test", {
      starttls: true,
      auth: { user: "sales-app", pass: "s3cret-pa55" },
    });
    assert.match(r.reply, /^553 5\.7\.1 Sender address <ceo@hq\.company\.test> not owned/);
  });

  test("the 101st recipient gets 452 4.5.3", async () => {
    const rcpts = Array.from({ length: 101 }, (_, i) => `RCPT TO:<u${i}@sales.company.test>`);
    const replies = await dialog(gw.port(), [
      "EHLO client.test",
      "MAIL FROM:<a@partner.test>",
      ...rcpts,
      "QUIT",
    ]);
    assert.match(replies[102] ?? "", /^250/);
    assert.match(replies[103] ?? "", /^452 4\.5\.3 Too many recipients/);
  });
});

describe("malformed input", () => {
  test("bad MAIL and RCPT syntax get precise 5xx replies", async () => {
    const replies = await dialog(gw.port(), [
      "EHLO client.test",
      "MAIL FROM:<a@partner.test> SIZE=abc",
      "MAIL FROM:<a@partner.test> SIZE=99999999999",
      "MAIL FROM:<a@partner.test>",
      "RCPT TO:<no-at-sign>",
      "DATA",
      "QUIT",
    ]);
    assert.match(replies[2] ?? "", /^501 .*size syntax/i);
    assert.match(replies[3] ?? "", /^552 .*exceeds fixed maximum message size/);
    assert.match(replies[4] ?? "", /^250/);
    assert.match(replies[5] ?? "", /^5\d\d /);
    assert.match(replies[6] ?? "", /^503 /);
  });
});

describe("DATA", () => {
  test("stores the bytes behind our Received: header, the envelope, and one FIFO route job carrying it", async () => {
    const raw = fixture("multipart-attachment.eml");
    const before = await routeQueueDepth();
    const r = await send({
      port: gw.port(),
      from: "jsmith@hq.company.test",
      to: ["someone@partner.test", "jsmith@sales.company.test"],
      raw,
    });
    assert.equal(r.ok, true, r.reply);
    const id = r.id ?? "";
    const stored = Buffer.from((await gw.object(keys.message(id))) ?? "", "utf8");
    const header = stored.subarray(0, stored.length - raw.length).toString();
    assert.match(
      header,
      /^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby .* \(Mailbag Gateway GW1\) with ESMTP id /,
    );
    assert.doesNotMatch(header, /\tfor </, "no 'for' clause with two recipients");
    assert.ok(
      stored.subarray(header.length).equals(raw),
      "message bytes after the Received header are the client's bytes",
    );
    const envelope = parseEnvelope(JSON.parse((await gw.object(keys.envelope(id))) ?? "null"));
    assert.equal(envelope.mailFrom, "jsmith@hq.company.test");
    assert.deepEqual(envelope.rcptTo, ["someone@partner.test", "jsmith@sales.company.test"]);
    assert.equal(envelope.gateway, "GW1");
    assert.equal(envelope.client.helo, "client.test");
    assert.equal(envelope.client.postoffice, "HQ");
    assert.equal(envelope.size, stored.length);
    assert.equal(
      envelope.sha256,
      (await import("node:crypto")).createHash("sha256").update(stored).digest("hex"),
    );
    assert.equal(await routeQueueDepth(), before + 1);
    const job = await findRouteJob(id);
    assert.deepEqual(JSON.parse(job?.Body ?? "{}"), { v: 1, id, gateway: "GW1", envelope });
    assert.equal(job?.Attributes?.MessageGroupId, "GW1");
    assert.equal(job?.Attributes?.MessageDeduplicationId, id);
  });

  test("a message over SIZE is refused with 552 5.3.4 while it streams, leaving nothing behind", async () => {
    const keysBefore = await storedKeys();
    const depthBefore = await routeQueueDepth();
    const big = Buffer.concat([
      fixture("plain.eml"),
      Buffer.from(`${"x".repeat(998)}\r\n`.repeat(200)),
    ]);
    const r = await send({
      port: gw.port(),
      from: "jm@partner.test",
      to: "jsmith@sales.company.test",
      raw: big,
    });
    assert.equal(r.ok, false);
    assert.match(
      r.reply,
      /^552 5\.3\.4 Message size exceeds fixed maximum message size \(65536 bytes\)/,
    );
    assert.deepEqual(await storedKeys(), keysBefore);
    assert.equal(await routeQueueDepth(), depthBefore);
  });

  test("backend down during DATA: 451 4.3.0 and nothing stored or queued; back up: 250", async () => {
    const keysBefore = await storedKeys();
    const depthBefore = await routeQueueDepth();
    rig.proxy.down();
    try {
      const r = await sendPlain("jm@partner.test", "jsmith@sales.company.test");
      assert.equal(r.ok, false);
      assert.match(r.reply, /^451 4\.3\.0 /);
    } finally {
      rig.proxy.up();
    }
    assert.deepEqual(await storedKeys(), keysBefore);
    assert.equal(await routeQueueDepth(), depthBefore);
    const again = await sendPlain("jm@partner.test", "jsmith@sales.company.test");
    assert.equal(again.ok, true, again.reply);
  });
});
