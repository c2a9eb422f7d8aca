/**
 * Delivery you can trust, end to end on the emulator (and on LocalStack with
 * `npm run test:localstack`): bounces (RFC 3464) that arrive where the sender is, NOTIFY and
 * null senders honoured, deferred mail off the head of the line, the line waiting out a smart
 * host outage in order, the queue lifetime, and a poison job dead-lettered with a log line.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import type { ConfigInput } from "../../core/config.ts";
import { type DeliveryStatus, parseStatus } from "../../core/envelope.ts";
import { BackendUnavailableError } from "../../core/errors.ts";
import { newMessageId } from "../../core/ids.ts";
import { gatewayResources, keys } from "../../core/names.ts";
import { dialog, send, sendMany } from "../helpers/client.ts";
import { startTestNetwork, type TestNetwork, testConfig } from "../helpers/network.ts";
import { envelopeRecord } from "../helpers/records.ts";
import { parseReport } from "../helpers/report.ts";
import { type Sink, type SunkMessage, startSink, waitUntil } from "../helpers/sink.ts";
import { gatewaySuite } from "../helpers/suite.ts";

/**
 * LocalStack answers a queue or bucket call in tens to hundreds of milliseconds where the
 * embedded emulator takes one or two, and the shared machine runs other suites: waits there are
 * longer. They bound a wait; no test measures time.
 */
const PATIENCE = process.env.MAILBAG_TEST_BACKEND === "endpoint" ? 4 : 1;

/** How long the smart host is down in the outage test (the issue asks for 30 s). */
const OUTAGE_MS = Number(process.env.MAILBAG_TEST_OUTAGE_SECONDS ?? 30) * 1000;

/** `suite.smartHostLink.down()`: "the smart host is unreachable" (a proxy in between). */
const suite = gatewaySuite({ smartHostLink: true });

function marked(marker: string, from = "jsmith@hq.company.test"): Buffer {
  return Buffer.from(
    `From: ${from}\r\nTo: someone@partner.test\r\nSubject: ${marker}\r\n` +
      `Message-ID: <${marker}@hq.company.test>\r\n\r\nbody of ${marker}\r\n`,
  );
}
const withMarker = (marker: string) => (m: SunkMessage) => m.raw.includes(`Subject: ${marker}\r\n`);
const atSink = (marker: string) => suite.smartHost.messages.filter(withMarker(marker));

async function status(net: TestNetwork, id: string): Promise<DeliveryStatus | undefined> {
  const text = await net.object(keys.status(id));
  return text === undefined ? undefined : parseStatus(JSON.parse(text));
}

/** Waits for a recipient's report to be noted in the status record; returns what was noted. */
async function reportOf(net: TestNetwork, id: string, rcpt: string): Promise<string> {
  let note: string | undefined;
  await waitUntil(
    async () => {
      note = (await status(net, id))?.recipients[rcpt]?.dsn;
      return note !== undefined;
    },
    20_000 * PATIENCE,
    () => `report noted for ${rcpt} of ${id}`,
  );
  return note ?? "";
}

/** Polls `get` until it yields something. */
async function eventually<T>(
  get: () => Promise<T | undefined> | T | undefined,
  what: string,
): Promise<T> {
  let value: T | undefined;
  await waitUntil(
    async () => {
      value = await get();
      return value !== undefined;
    },
    20_000 * PATIENCE,
    () => what,
  );
  return value as T;
}

describe("bounces (RFC 3464)", () => {
  test("550 5.1.1 at the smart host: ok delivered, a bounce with the reply lies in HQ's inbound mailbag", async () => {
    suite.smartHost.behaviour = {
      rcpt: (a) =>
        a === "nobody@partner.test"
          ? [550, "5.1.1 <nobody@partner.test>: User unknown"]
          : undefined,
    };
    try {
      const r = await send({
        port: suite.gw.port(),
        from: "jsmith@hq.company.test",
        to: ["nobody@partner.test", "ok@partner.test"],
        raw: marked("bounce-550"),
      });
      assert.equal(r.ok, true, r.reply);
      const id = r.id ?? "";
      await waitUntil(
        () => atSink("bounce-550").length === 1,
        20_000 * PATIENCE,
        () => "ok delivered",
      );
      assert.deepEqual(atSink("bounce-550")[0]?.rcptTo, ["ok@partner.test"]);
      const dsnId = await reportOf(suite.gw, id, "nobody@partner.test");
      const raw = await eventually(
        () => suite.gw.object(keys.inbound("HQ", dsnId)),
        "bounce in HQ's inbound mailbag",
      );
      const envelope = JSON.parse(
        (await suite.gw.object(keys.inboundEnvelope("HQ", dsnId))) ?? "{}",
      );
      assert.equal(envelope.mailFrom, "", "null reverse-path");
      assert.deepEqual(envelope.rcptTo, ["jsmith@hq.company.test"]);
      const { mail, blocks } = await parseReport(raw);
      assert.equal(mail.from?.value[0]?.address, "MAILER-DAEMON@msmailgwy.company.test");
      assert.equal(blocks[0]?.["Reporting-MTA"], "dns; msmailgwy.company.test");
      assert.ok(blocks[0]?.["Arrival-Date"]);
      assert.equal(blocks.length, 2, "one recipient reported: ok was delivered");
      assert.equal(blocks[1]?.["Final-Recipient"], "rfc822; nobody@partner.test");
      assert.equal(blocks[1]?.Action, "failed");
      assert.equal(blocks[1]?.Status, "5.1.1");
      assert.equal(
        blocks[1]?.["Diagnostic-Code"],
        "smtp; 550 5.1.1 <nobody@partner.test>: User unknown",
      );
      assert.equal(blocks[1]?.["Remote-MTA"], "dns; 127.0.0.1");
      const headers = mail.attachments.find((a) => a.contentType === "text/rfc822-headers");
      assert.match(headers?.content.toString() ?? "", /Subject: bounce-550/);
    } finally {
      suite.smartHost.behaviour = {};
    }
  });

  test("NOTIFY=NEVER and a null sender get no bounce", async () => {
    suite.smartHost.behaviour = {
      rcpt: (a) => (a.startsWith("nobody") ? [550, "5.1.1 No such user"] : undefined),
    };
    try {
      const replies = await dialog(suite.gw.port(), [
        "EHLO client.test",
        "MAIL FROM:<jsmith@hq.company.test>",
        "RCPT TO:<nobody@partner.test> NOTIFY=NEVER",
        "DATA",
        `${marked("notify-never").toString()}.`,
        "QUIT",
      ]);
      assert.match(replies[2] ?? "", /^250/, "DSN advertised and NOTIFY taken");
      const never = /queued as (\S+)/.exec(replies[5] ?? "")?.[1] ?? "";
      assert.ok(never, replies.join("\n"));
      const nullSender = await send({
        port: suite.gw.port(),
        from: "",
        to: "nobody@partner.test",
        raw: marked("null-sender"),
      });
      assert.equal(nullSender.ok, true, nullSender.reply);
      assert.equal(await reportOf(suite.gw, never, "nobody@partner.test"), "notify");
      assert.equal(
        await reportOf(suite.gw, nullSender.id ?? "", "nobody@partner.test"),
        "null-sender",
      );
    } finally {
      suite.smartHost.behaviour = {};
    }
  });

  test("NOTIFY=SUCCESS and a next hop without DSN: a 'relayed' report", async () => {
    const replies = await transaction(
      suite.gw.port(),
      "ENVID=relay-1",
      ["<ok@partner.test> NOTIFY=SUCCESS"],
      "esmtp-relayed",
    );
    const id = queuedId(replies);
    assert.ok(id, replies.join("\n"));
    const dsnId = await reportOf(suite.gw, id, "ok@partner.test");
    const raw = await eventually(
      () => suite.gw.object(keys.inbound("HQ", dsnId)),
      "relayed report",
    );
    const { blocks } = await parseReport(raw);
    assert.equal(blocks[0]?.["Original-Envelope-Id"], "relay-1");
    assert.equal(blocks[1]?.Action, "relayed");
    assert.equal(blocks[1]?.Status, "2.0.0");
  });

  test("a 5.6.7 for a UTF-8 address without SMTPUTF8 (553 at RCPT)", async () => {
    const replies = await dialog(suite.gw.port(), [
      "EHLO client.test",
      "MAIL FROM:<jsmith@hq.company.test>",
      "RCPT TO:<jörg@partner.test>",
      "QUIT",
    ]);
    assert.match(replies[3] ?? "", /^553 5\.6\.7 /);
  });
});

describe("order without stalling", () => {
  test("one recipient answered 450 while 50 other messages are sent: the 50 do not wait for it", async () => {
    let deferring = true;
    const refusedAt: number[] = [];
    const arrivals = new Map<string, number>();
    suite.smartHost.behaviour = {
      data: (m) => {
        const marker = /Subject: (behind-\d+)/.exec(m.raw.toString())?.[1];
        if (marker) arrivals.set(marker, Date.now());
        return undefined;
      },
      rcpt: (a) => {
        if (a !== "slow@partner.test" || !deferring) return undefined;
        refusedAt.push(Date.now());
        return [450, "4.2.1 Mailbox busy, try later"];
      },
    };
    try {
      const before = suite.smartHost.messages.length;
      const markers = Array.from({ length: 50 }, (_, i) => `behind-${String(i).padStart(2, "0")}`);
      const replies = await sendMany(suite.gw.port(), [
        { from: "jsmith@hq.company.test", to: "slow@partner.test", raw: marked("deferred-one") },
        ...markers.map((m) => ({
          from: "jsmith@hq.company.test",
          to: "someone@partner.test",
          raw: marked(m),
        })),
      ]);
      assert.equal(replies.length, 51);
      await waitUntil(
        () => markers.every((m) => atSink(m).length === 1),
        120_000 * PATIENCE,
        () => `${markers.filter((m) => atSink(m).length).length}/50 delivered`,
      );
      const firstRefusal = refusedAt[0] ?? 0;
      const firstBehind = arrivals.get(markers[0] ?? "") ?? 0;
      assert.ok(firstRefusal > 0, "the deferred message was tried first");
      assert.equal(atSink("deferred-one").length, 0, "the deferred one has not arrived yet");
      // The 50 were accepted in order behind it and are delivered in order regardless.
      const order = suite.smartHost.messages
        .slice(before)
        .map((m) => /Subject: (behind-\d+)/.exec(m.raw.toString())?.[1])
        .filter((m) => m !== undefined);
      assert.deepEqual(order, markers);
      const lastArrival = arrivals.get(markers[49] ?? "") ?? Date.now();
      console.log(
        `# 450 test: the first of the 50 arrived ${firstBehind - firstRefusal} ms after the 450, ` +
          `the last ${lastArrival - firstRefusal} ms after; the deferred message was refused ` +
          `${refusedAt.length} time(s) meanwhile`,
      );
      deferring = false;
      await waitUntil(
        () => atSink("deferred-one").length === 1,
        30_000 * PATIENCE,
        () => "deferred message delivered once accepted",
      );
      // The status record is stored while the line sends on (core/deliver-line.ts): it follows
      // the arrival, it does not precede it.
      await waitUntil(
        async () =>
          (await status(suite.gw, replies[0]?.id ?? ""))?.recipients["slow@partner.test"]?.state ===
          "delivered",
        10_000 * PATIENCE,
        () => "status record: delivered",
      );
    } finally {
      suite.smartHost.behaviour = {};
    }
  });

  test(`smart host down ${OUTAGE_MS / 1000} s, then up: everything arrives in the original order`, async () => {
    const before = suite.smartHost.messages.length;
    suite.smartHostLink.down();
    const markers = Array.from({ length: 10 }, (_, i) => `outage-${String(i).padStart(2, "0")}`);
    const downAt = Date.now();
    try {
      const replies = await sendMany(
        suite.gw.port(),
        markers.map((m) => ({
          from: "jsmith@hq.company.test",
          to: "someone@partner.test",
          raw: marked(m),
        })),
      );
      assert.ok(replies.every((r) => r.code === 250));
      // The head of the line was tried and is held (on a slow backend this may take a while).
      await waitUntil(
        async () =>
          (await status(suite.gw, replies[0]?.id ?? ""))?.recipients["someone@partner.test"]
            ?.state === "deferred",
        OUTAGE_MS + 20_000 * PATIENCE,
        () => "first attempt deferred while the smart host is down",
      );
      await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - downAt))));
      assert.deepEqual(
        markers.filter((m) => atSink(m).length > 0),
        [],
        "nothing delivered while the smart host is down",
      );
    } finally {
      suite.smartHostLink.up();
    }
    await waitUntil(
      () => markers.every((m) => atSink(m).length === 1),
      60_000 * PATIENCE,
      () => "all delivered after the outage",
    );
    const order = suite.smartHost.messages
      .slice(before)
      .map((m) => /Subject: (outage-\d+)/.exec(m.raw.toString())?.[1]);
    assert.deepEqual(order, markers);
  });
});

describe("nothing silent", () => {
  test("a job is dead-lettered after maxReceiveCount failures of its own, however often it was received", async () => {
    // Received 40 times (behind failing jobs of its batch, or while its line waited), it fails
    // now for the first time: retried. Its third failure of its own (maxReceiveCount 3) moves it.
    const config = suite.gw.runtime.config;
    const runtime = {
      ...suite.gw.runtime,
      config: { ...config, queues: { ...config.queues, maxReceiveCount: 3 } },
    };
    const names = gatewayResources(config.prefix, "GW1");
    const sqs = suite.gw.clients.sqs;
    const url = (await import("../../functions/shared/sqs-queue.ts")).queueUrlResolver(sqs);
    const { settleFailure } = await import("../../functions/shared/middleware.ts");
    const { inPart } = await import("../../functions/shared/aws-calls.ts");
    const roles = [
      ["route", { v: 1, id: newMessageId(), gateway: "GW1" }],
      ["deliver", { v: 1, id: newMessageId(), gateway: "GW1", recipients: ["x@partner.test"] }],
    ] as const;
    for (const [role, job] of roles) {
      const record = {
        messageId: randomUUID(),
        receiptHandle: "not-used",
        body: JSON.stringify(job),
        attributes: { ApproximateReceiveCount: "40", MessageGroupId: "GW1" },
        eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${names.queues[role]}`,
      } as unknown as SQSRecord;
      const outcomes: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        const failure = new BackendUnavailableError("the mailbag answered slowly");
        outcomes.push(await inPart(role, () => settleFailure(runtime, record, failure), "GW1"));
      }
      assert.deepEqual(outcomes, [false, false, true], role);
      const dlq = await url(names.deadLetterQueues[role]);
      const res = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: dlq,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 30,
        }),
      );
      assert.ok(
        (res.Messages ?? []).some((m) => m.Body?.includes(job.id)),
        `${role}: in ${names.deadLetterQueues[role]}`,
      );
      // Ours out of the way, the rest visible again at once: a FIFO dead-letter queue hands out
      // a group in order, and later tests look for their own jobs there.
      for (const { Body, ReceiptHandle } of res.Messages ?? []) {
        if (Body?.includes(job.id))
          await sqs.send(new DeleteMessageCommand({ QueueUrl: dlq, ReceiptHandle }));
        else
          await sqs.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: dlq,
              ReceiptHandle,
              VisibilityTimeout: 0,
            }),
          );
      }
    }
  });

  test("a poison job goes to the dead-letter queue with one error log line naming the mail id", async () => {
    const id = newMessageId();
    const names = gatewayResources(suite.gw.runtime.config.prefix, "GW1");
    const sqs = suite.gw.clients.sqs;
    const url = async (name: string) =>
      (await import("../../functions/shared/sqs-queue.ts")).queueUrlResolver(sqs)(name);
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const level = process.env.MAILBAG_LOG;
    process.env.MAILBAG_LOG = "error";
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      lines.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      // A delivery job for a message that has no envelope: it can never succeed.
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: await url(names.queues.deliver),
          MessageBody: JSON.stringify({ v: 1, id, gateway: "GW1", recipients: ["x@partner.test"] }),
          MessageGroupId: "GW1",
          MessageDeduplicationId: id,
        }),
      );
      const dlq = await url(names.deadLetterQueues.deliver);
      let body: string | undefined;
      await waitUntil(
        async () => {
          const res = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: dlq,
              WaitTimeSeconds: 1,
              MaxNumberOfMessages: 10,
            }),
          );
          body = res.Messages?.find((m) => m.Body?.includes(id))?.Body;
          return body !== undefined;
        },
        20_000 * PATIENCE,
        () => "job in the dead-letter queue",
      );
      const errors = () =>
        lines
          .flatMap((l) => l.split("\n"))
          .filter((l) => l.includes('"level":"error"') && l.includes(id));
      // The log line follows the move (and the status record's note).
      await waitUntil(
        () => errors().length > 0,
        10_000 * PATIENCE,
        () => "error log line",
      );
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal(errors().length, 1, errors().join("\n"));
      const event = JSON.parse(errors()[0] ?? "{}");
      assert.equal(event.event, "dead-lettered");
      assert.equal(event.id, id);
      assert.equal(event.queue, names.deadLetterQueues.deliver);
      assert.match(event.reason, /malformed envelope/);
      const s = await status(suite.gw, id);
      assert.equal(s?.deadLetter?.queue, names.deadLetterQueues.deliver);
    } finally {
      process.stderr.write = write;
      if (level === undefined) delete process.env.MAILBAG_LOG;
      else process.env.MAILBAG_LOG = level;
    }
  });
});

describe("an attempt refused after its job was queued", () => {
  test("its job finds the body gone and is abandoned: nothing delivered, nothing dead-lettered, the line moves on", async () => {
    // What the ingress leaves when SendMessage reached the queue but failed for the ingress: a
    // route job carrying the envelope, and no body (removed with the 451).
    const id = newMessageId();
    const names = gatewayResources(suite.gw.runtime.config.prefix, "GW1");
    const sqs = suite.gw.clients.sqs;
    const url = (await import("../../functions/shared/sqs-queue.ts")).queueUrlResolver(sqs);
    const envelope = envelopeRecord({
      id,
      mailFrom: "jsmith@hq.company.test",
      rcptTo: ["someone@partner.test"],
      receivedAt: new Date().toISOString(),
    });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: await url(names.queues.route),
        MessageBody: JSON.stringify({ v: 1, id, gateway: "GW1", envelope }),
        MessageGroupId: "GW1",
        MessageDeduplicationId: id,
      }),
    );
    // One FIFO line per queue: once mail accepted after it arrives, the job had its turn.
    const r = await send({
      port: suite.gw.port(),
      from: "jsmith@hq.company.test",
      to: "someone@partner.test",
      raw: marked("after-abandoned"),
    });
    assert.equal(r.ok, true, r.reply);
    await waitUntil(
      () => atSink("after-abandoned").length > 0,
      30_000 * PATIENCE,
      () => "later mail",
    );
    assert.equal(await status(suite.gw, id), undefined, "no status record: nothing was attempted");
    for (const dlq of [names.deadLetterQueues.route, names.deadLetterQueues.deliver]) {
      const res = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: await url(dlq),
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 0,
        }),
      );
      assert.ok(!(res.Messages ?? []).some((m) => m.Body?.includes(id)), `nothing in ${dlq}`);
    }
  });
});

describe("queue lifetime and refusals at routing", () => {
  let short: TestNetwork;
  let ingressOnly: TestNetwork;
  let lifetimeSink: Sink;

  before(async () => {
    lifetimeSink = await startSink({
      rcpt: (a) => (a === "later@partner.test" ? [451, "4.3.0 Try again later"] : undefined),
    });
    const changed = (c: ConfigInput) => {
      c.delivery = { ...c.delivery, queueLifetimeSeconds: 10 };
    };
    const config = testConfig(lifetimeSink.url, changed);
    // The ingress runs on a directory where HQ accepts any mailbox; the router and delivery on
    // one where HQ lists its mailboxes (a mailbox deleted while mail for it was queued).
    ingressOnly = await startTestNetwork(config, suite.backend.endpoint, {
      route: false,
      deliver: false,
    });
    const listed = structuredClone(config);
    const hq = listed.postoffices.find((p) => p.id === "HQ");
    assert.ok(hq);
    Object.assign(hq, { unknownMailbox: "listed", mailboxes: ["JSMITH"] });
    short = await startTestNetwork(listed, suite.backend.endpoint, { ingress: false });
  });

  after(async () => {
    await ingressOnly?.stop();
    await short?.stop();
    await lifetimeSink?.close();
  });

  test("still deferred when the queue lifetime ends: a 4.4.7 bounce", async () => {
    const r = await send({
      port: ingressOnly.port(),
      from: "jsmith@hq.company.test",
      to: "later@partner.test",
      raw: marked("expires"),
    });
    assert.equal(r.ok, true, r.reply);
    const dsnId = await reportOf(short, r.id ?? "", "later@partner.test");
    const raw = await eventually(
      () => short.object(keys.inbound("HQ", dsnId)),
      "4.4.7 bounce in HQ's inbound mailbag",
    );
    const { blocks } = await parseReport(raw);
    assert.equal(blocks[1]?.Action, "failed");
    assert.equal(blocks[1]?.Status, "4.4.7");
    assert.match(blocks[1]?.["Diagnostic-Code"] ?? "", /451 4\.3\.0 Try again later/);
  });

  test("refused at routing, outside sender: the bounce goes out through the smart host", async () => {
    const r = await send({
      port: ingressOnly.port(),
      from: "jm@partner.test",
      to: "gone@hq.company.test",
      raw: marked("refused-at-routing", "jm@partner.test"),
    });
    assert.equal(r.ok, true, r.reply);
    const bounce = await eventually(
      () =>
        lifetimeSink.messages.find(
          (m) => m.mailFrom === "" && m.raw.includes("Subject: refused-at-routing"),
        ),
      "bounce at the smart host",
    );
    assert.deepEqual(bounce.rcptTo, ["jm@partner.test"]);
    const { blocks } = await parseReport(bounce.raw);
    assert.equal(blocks[1]?.["Final-Recipient"], "rfc822; gone@hq.company.test");
    assert.equal(blocks[1]?.Status, "5.1.1");
    assert.match(blocks[1]?.["Diagnostic-Code"] ?? "", /^smtp; 550 5\.1\.1 /);
  });
});

/**
 * The handlers of the local runner use the runtime of the network started last (useRuntime), so
 * each of these tests runs a network of its own and stops it before the next starts.
 */
async function withNetwork(
  sinkOptions: Parameters<typeof startSink>[1],
  run: (net: TestNetwork, sink: Sink) => Promise<void>,
): Promise<void> {
  const s = await startSink({}, sinkOptions);
  const net = await startTestNetwork(testConfig(s.url), suite.backend.endpoint);
  try {
    await run(net, s);
  } finally {
    await net.stop();
    await s.close();
  }
}

/** One transaction by hand, so the MAIL and RCPT parameters are exactly these. */
const transaction = (port: number, mail: string, rcpts: string[], marker: string) =>
  dialog(port, [
    "EHLO client.test",
    `MAIL FROM:<jsmith@hq.company.test> ${mail}`.trim(),
    ...rcpts.map((r) => `RCPT TO:${r}`),
    "DATA",
    `From: jsmith@hq.company.test\r\nSubject: ${marker}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße, Jörg\r\n.",
    "QUIT",
  ]);
const queuedId = (replies: string[]) =>
  /queued as (\S+)/.exec(replies.find((r) => r.includes("queued as")) ?? "")?.[1] ?? "";

describe("ESMTP passthrough (RFC 6152, 6531, 3461)", () => {
  test("BODY, SMTPUTF8, RET, ENVID and per-recipient NOTIFY, ORCPT reach a next hop that offers them", () =>
    withNetwork({ dsn: true }, async (full, fullSink) => {
      const replies = await transaction(
        full.port(),
        "BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159",
        [
          "<ok@partner.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;ok@partner.test",
          "<jörg@partner.test> NOTIFY=NEVER",
        ],
        "esmtp-full",
      );
      assert.ok(queuedId(replies), replies.join("\n"));
      const got = await eventually(
        () => fullSink.messages.find((m) => m.raw.includes("Subject: esmtp-full")),
        "message at the DSN-capable smart host",
      );
      assert.deepEqual(got.rcptTo, ["ok@partner.test", "jörg@partner.test"]);
      assert.equal(got.mailArgs?.BODY, "8BITMIME");
      assert.equal(got.mailArgs?.SMTPUTF8, true);
      assert.equal(got.mailArgs?.RET, "HDRS");
      assert.equal(got.mailArgs?.ENVID, "QQ314159");
      assert.deepEqual(got.rcptArgs?.["ok@partner.test"], {
        NOTIFY: "SUCCESS,FAILURE",
        ORCPT: "rfc822;ok@partner.test",
      });
      assert.deepEqual(got.rcptArgs?.["jörg@partner.test"], { NOTIFY: "NEVER" });
      assert.ok(got.raw.includes("Grüße, Jörg"), "8-bit body unchanged");
    }));

  test("a next hop without SMTPUTF8 or 8BITMIME: 5.6.7 and 5.6.3 bounces, nothing relayed undeclared", () =>
    withNetwork({ hide8bitmime: true, hideSmtputf8: true }, async (bare, bareSink) => {
      const utf8 = queuedId(
        await transaction(bare.port(), "SMTPUTF8", ["<jörg@partner.test>"], "esmtp-utf8"),
      );
      const eight = queuedId(
        await transaction(bare.port(), "BODY=8BITMIME", ["<ok@partner.test>"], "esmtp-8bit"),
      );
      assert.ok(utf8 && eight);
      for (const [id, rcpt, code] of [
        [utf8, "jörg@partner.test", "5.6.7"],
        [eight, "ok@partner.test", "5.6.3"],
      ] as const) {
        const dsnId = await reportOf(bare, id, rcpt);
        const raw = await eventually(() => bare.object(keys.inbound("HQ", dsnId)), "bounce");
        const { blocks } = await parseReport(raw);
        assert.equal(blocks[1]?.Status, code);
        assert.equal(blocks[1]?.Action, "failed");
      }
      assert.equal(bareSink.messages.length, 0, "the smart host got neither message");
    }));
});
