/**
 * The spine, end to end: SMTP client → ingress → S3 mailbag → SQS FIFO → router → delivery →
 * a real SMTP smart host. One suite, run on the embedded emulator (`npm test`) and on LocalStack
 * (`npm run test:localstack`), each run under its own resource prefix.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { type DeliveryStatus, parseStatus } from "../../core/envelope.ts";
import { keys } from "../../core/names.ts";
import { send, sendMany } from "../helpers/client.ts";
import {
  fixture,
  type PartitionableRig,
  startPartitionable,
  type TestNetwork,
  testConfig,
} from "../helpers/network.ts";
import { type Sink, type SunkMessage, startSink, waitUntil } from "../helpers/sink.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

let rig: PartitionableRig;
let sink: Sink;
let gw: TestNetwork;

before(async () => {
  sink = await startSink();
  rig = await startPartitionable(testConfig(sink.url));
  gw = rig.gw;
});

after(async () => {
  await rig?.stop();
  await sink?.close();
});

/** A message with a unique marker in its Subject, so each test finds its own at the sink. */
function marked(marker: string, size = 0): Buffer {
  const filler =
    size > 0 ? `${"0123456789abcdef".repeat(62)}xx\r\n`.repeat(Math.ceil(size / 1000)) : "";
  return Buffer.from(
    `From: jsmith@hq.company.test\r\nTo: someone@partner.test\r\nSubject: ${marker}\r\n` +
      `Message-ID: <${marker}@hq.company.test>\r\n\r\nbody of ${marker}\r\n${filler}`,
  );
}
const withMarker = (marker: string) => (m: SunkMessage) => m.raw.includes(`Subject: ${marker}\r\n`);
const atSink = (marker: string) => sink.messages.filter(withMarker(marker));

async function status(id: string): Promise<DeliveryStatus | undefined> {
  const text = await gw.object(keys.status(id));
  return text === undefined ? undefined : parseStatus(JSON.parse(text));
}

/** Strips the Received: header (plus folded lines) and the trace field the gateway prepends. */
function withoutOurReceived(raw: Buffer): Buffer {
  const text = raw.toString("latin1");
  const m = /^Received: from [^\r]*\r\n(\t[^\r]*\r\n)*Mailbag-Trace: [^\r]*\r\n/.exec(text);
  assert.ok(m, "message starts with our Received: header");
  assert.match(m[0], /\(Mailbag Gateway GW1\)/);
  return raw.subarray(Buffer.byteLength(m[0], "latin1"));
}

describe("outbound through the smart host", () => {
  for (const name of ["plain.eml", "multipart-attachment.eml", "utf8-8bit.eml"]) {
    test(`${name}: bytes identical apart from the Received header, envelope intact`, async () => {
      const raw = fixture(name);
      const before = sink.messages.length;
      const r = await send({
        port: gw.port(),
        from: "jsmith@hq.company.test",
        to: ["someone@partner.test", "other@elsewhere.test"],
        raw,
      });
      assert.equal(r.ok, true, r.reply);
      await sink.waitFor(before + 1);
      const got = sink.messages[before];
      assert.ok(got);
      assert.equal(got.mailFrom, "jsmith@hq.company.test");
      assert.deepEqual(got.rcptTo, ["someone@partner.test", "other@elsewhere.test"]);
      assert.ok(withoutOurReceived(got.raw).equals(raw), "body bytes unchanged");
      await waitUntil(
        async () =>
          (await status(r.id ?? ""))?.recipients["someone@partner.test"]?.state === "delivered",
        5_000,
        () => "status",
      );
    });
  }

  test("100 messages through one gateway are delivered in the order they were accepted", async () => {
    const before = sink.messages.length;
    const markers = Array.from({ length: 100 }, (_, i) => `order-${String(i).padStart(3, "0")}`);
    const replies = await sendMany(
      gw.port(),
      markers.map((m) => ({
        from: "jsmith@hq.company.test",
        to: "someone@partner.test",
        raw: marked(m),
      })),
    );
    assert.equal(replies.filter((r) => r.ok).length, 100);
    await sink.waitFor(before + 100, 60_000);
    const order = sink.messages
      .slice(before)
      .map((m) => /Subject: (order-\d+)/.exec(m.raw.toString())?.[1]);
    assert.deepEqual(order, markers);
  });
});

describe("inbound to a postoffice", () => {
  test("mail for sales.company.test lands in SALES's inbound mailbag, the HQ part in HQ's", async () => {
    const raw = fixture("utf8-8bit.eml");
    const r = await send({
      port: gw.port(),
      from: "jm@partner.test",
      to: ["jsmith@sales.company.test", "ceo@hq.company.test"],
      raw,
    });
    assert.equal(r.ok, true, r.reply);
    const id = r.id ?? "";
    // The router fills the postoffices' bags one after the other: wait for the last one too.
    const present = async (po: string) =>
      (await gw.object(keys.inboundEnvelope(po, id))) !== undefined;
    await waitUntil(
      async () => (await present("SALES")) && (await present("HQ")),
      10_000,
      () => "SALES and HQ inbound",
    );
    const sales = JSON.parse((await gw.object(keys.inboundEnvelope("SALES", id))) ?? "{}");
    assert.deepEqual(sales.rcptTo, ["jsmith@sales.company.test"]);
    const hq = JSON.parse((await gw.object(keys.inboundEnvelope("HQ", id))) ?? "{}");
    assert.deepEqual(hq.rcptTo, ["ceo@hq.company.test"]);
    const copy = await gw.object(keys.inbound("SALES", id));
    assert.equal(copy, await gw.object(keys.message(id)));
    assert.ok(withoutOurReceived(Buffer.from(copy ?? "", "utf8")).equals(raw));
  });
});

describe("smart host failures", () => {
  test("a recipient refused with 5xx is marked failed and not retried; the others are delivered", async () => {
    sink.behaviour = {
      rcpt: (a) => (a === "nobody@partner.test" ? [550, "5.1.1 No such user"] : undefined),
    };
    try {
      const r = await send({
        port: gw.port(),
        from: "jsmith@hq.company.test",
        to: ["nobody@partner.test", "someone@partner.test"],
        raw: marked("refused-rcpt"),
      });
      assert.equal(r.ok, true);
      await waitUntil(
        () => atSink("refused-rcpt").length === 1,
        10_000,
        () => "delivery",
      );
      await waitUntil(
        async () => (await status(r.id ?? ""))?.recipients["nobody@partner.test"] !== undefined,
        5_000,
        () => "status",
      );
      const s = await status(r.id ?? "");
      assert.equal(s?.recipients["nobody@partner.test"]?.state, "failed");
      assert.match(s?.recipients["nobody@partner.test"]?.reply ?? "", /550 5\.1\.1 No such user/);
      assert.equal(s?.recipients["someone@partner.test"]?.state, "delivered");
      assert.deepEqual(atSink("refused-rcpt")[0]?.rcptTo, ["someone@partner.test"]);
    } finally {
      sink.behaviour = {};
    }
  });

  test("a 4xx from the smart host defers the message; it is retried and delivered once", async () => {
    let refusals = 0;
    sink.behaviour = {
      data: (m) =>
        withMarker("deferred")(m) && refusals++ < 2 ? [451, "4.3.0 Try again later"] : undefined,
    };
    try {
      const r = await send({
        port: gw.port(),
        from: "jsmith@hq.company.test",
        to: "someone@partner.test",
        raw: marked("deferred"),
      });
      assert.equal(r.ok, true);
      await waitUntil(
        () => atSink("deferred").length === 1,
        20_000,
        () => "retried delivery",
      );
      assert.equal(refusals, 3, "two refusals, then accepted");
      const s = await status(r.id ?? "");
      assert.equal(s?.recipients["someone@partner.test"]?.state, "delivered");
      assert.equal(s?.recipients["someone@partner.test"]?.attempts, 3);
    } finally {
      sink.behaviour = {};
    }
  });

  test("a 5xx to the whole message marks every recipient failed", async () => {
    sink.behaviour = {
      data: (m) => (withMarker("rejected-data")(m) ? [554, "5.7.1 Message refused"] : undefined),
    };
    try {
      const r = await send({
        port: gw.port(),
        from: "jsmith@hq.company.test",
        to: ["a@partner.test", "b@partner.test"],
        raw: marked("rejected-data"),
      });
      await waitUntil(
        async () => (await status(r.id ?? ""))?.recipients["a@partner.test"]?.state === "failed",
        10_000,
        () => "failed",
      );
      const s = await status(r.id ?? "");
      assert.equal(s?.recipients["b@partner.test"]?.state, "failed");
      assert.match(s?.recipients["b@partner.test"]?.reply ?? "", /^554 5\.7\.1 Message refused/);
    } finally {
      sink.behaviour = {};
    }
  });
});

describe("durability", () => {
  test("backend stopped during DATA: 451, that attempt is never delivered; back up: every 250 delivered exactly once", async () => {
    // A 12 MB message: its first 5 MiB part is uploaded while the rest is still streaming in.
    const body = new PassThrough();
    const payload = marked("lost-attempt", 12 * 1024 * 1024);
    const attempt = send({
      port: gw.port(),
      from: "jsmith@hq.company.test",
      to: "someone@partner.test",
      raw: body,
    });
    body.write(payload.subarray(0, 7 * 1024 * 1024));
    await new Promise((r) => setTimeout(r, 300));
    rig.proxy.down();
    body.end(payload.subarray(7 * 1024 * 1024));
    const refused = await attempt;
    assert.equal(refused.ok, false);
    assert.match(refused.reply, /^451 4\.3\.0 /);
    rig.proxy.up();

    const markers = Array.from({ length: 20 }, (_, i) => `after-outage-${i}`);
    const replies = await sendMany(
      gw.port(),
      markers.map((m) => ({
        from: "jsmith@hq.company.test",
        to: "someone@partner.test",
        raw: marked(m),
      })),
    );
    assert.ok(replies.every((r) => r.code === 250));
    await waitUntil(
      () => markers.every((m) => atSink(m).length > 0),
      60_000,
      () => "all delivered",
    );
    // Give a stray duplicate or the refused attempt time to show up, then count.
    await new Promise((r) => setTimeout(r, 3_000));
    for (const m of markers) assert.equal(atSink(m).length, 1, `${m} delivered exactly once`);
    assert.equal(atSink("lost-attempt").length, 0, "the refused attempt is never delivered");
  });

  test("ingress process killed mid-DATA: nothing queued; restarted, the resent message is delivered once", async () => {
    const configFile = join(tmpdir(), `${gw.runtime.config.prefix}.config.json`);
    writeFileSync(configFile, JSON.stringify(gw.runtime.config));
    const start = () => startIngressProcess(configFile, rig.backend.endpoint);

    const first = await start();
    const body = new PassThrough();
    const attempt = send({
      port: first.port,
      from: "jsmith@hq.company.test",
      to: "someone@partner.test",
      raw: body,
    });
    body.write(marked("killed-attempt", 1024 * 1024).subarray(0, 512 * 1024));
    await new Promise((r) => setTimeout(r, 300));
    first.child.kill("SIGKILL");
    body.end();
    const cut = await attempt;
    assert.equal(cut.ok, false, "no 250 for a message whose ingress died");

    const second = await start();
    try {
      const r = await send({
        port: second.port,
        from: "jsmith@hq.company.test",
        to: "someone@partner.test",
        raw: marked("killed-attempt"),
      });
      assert.equal(r.ok, true, r.reply);
      await waitUntil(
        () => atSink("killed-attempt").length === 1,
        20_000,
        () => "resent message delivered",
      );
      await new Promise((r) => setTimeout(r, 2_000));
      assert.equal(atSink("killed-attempt").length, 1, "delivered exactly once");
    } finally {
      second.child.kill("SIGTERM");
    }
  });
});

/** `mailbag start --only ingress` as its own process (the container's role), port printed on stdout. */
async function startIngressProcess(
  configFile: string,
  endpoint: string,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    ["cli/mailbag.ts", "start", "--only", "ingress", "--port", "0", "--config", configFile],
    {
      cwd: ROOT,
      env: { ...process.env, AWS_ENDPOINT_URL: endpoint, MAILBAG_LOG: "silent" },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  await waitUntil(
    () => /SMTP on [\d.]+:\d+/.test(out) || child.exitCode !== null,
    15_000,
    () => `ingress start: ${out}`,
  );
  const port = Number(/SMTP on [\d.]+:(\d+)/.exec(out)?.[1]);
  assert.ok(port > 0, `ingress process printed its port: ${out}`);
  return { child, port };
}
