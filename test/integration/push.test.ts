/**
 * Push delivery (docs/postoffices.md#push): SALES's inbound mail goes to a real SMTP server
 * playing SALES's mail host, in acceptance order, byte for byte apart from the trace fields;
 * while that host is down its mail waits and HQ's and outbound mail flow. On the embedded
 * emulator (`npm test`) and on LocalStack (`npm run test:localstack`).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseStatus } from "../../core/envelope.ts";
import { keys } from "../../core/names.ts";
import { send, sendMany } from "../helpers/client.ts";
import { fixture, startTestNetwork, testConfig } from "../helpers/network.ts";
import { marked, subjectOf, withoutTrace } from "../helpers/postoffice.ts";
import type { TcpProxy } from "../helpers/proxy.ts";
import { type Sink, startSink, waitUntil } from "../helpers/sink.ts";
import { gatewaySuite } from "../helpers/suite.ts";

let sales: Sink;
/** Between the gateway and SALES's host: `down()` is "SALES's mail server is down". */
let salesLink: TcpProxy;

const suite = gatewaySuite({
  config: async (smartHostUrl, s) => {
    sales = await s.startSink();
    salesLink = await s.startLink(sales.url);
    const deliver = salesLink.endpoint.replace(/^http:/, "smtp:");
    return testConfig(smartHostUrl, (c) => {
      Object.assign(c.postoffices[1] as object, { inbound: { deliver } });
    });
  },
});

const pushStatus = async (id: string) => {
  const text = await suite.gw.object(keys.pushStatus("SALES", id));
  return text === undefined ? undefined : parseStatus(JSON.parse(text));
};

describe("push to a postoffice's own server", () => {
  test("in acceptance order, identical apart from the trace fields, SALES's recipients only", async () => {
    const before = sales.messages.length;
    const raws = [fixture("plain.eml"), fixture("multipart-attachment.eml")].concat(
      Array.from({ length: 8 }, (_, i) => marked(`push-order-${i}`)),
    );
    const replies = await sendMany(
      suite.gw.port(),
      raws.map((raw, i) => ({
        from: "jm@partner.test",
        // Mixed: HQ's recipient stays in HQ's mailbag; SALES's server sees its own only.
        to:
          i === 0
            ? ["jsmith@sales.company.test", "ceo@hq.company.test"]
            : "jsmith@sales.company.test",
        raw,
      })),
    );
    assert.equal(replies.filter((r) => r.ok).length, raws.length);
    const got = (await sales.waitFor(before + raws.length)).slice(before);
    assert.equal(got.length, raws.length);
    got.forEach((m, i) => {
      assert.ok(withoutTrace(m.raw).equals(raws[i] as Buffer), `message ${i} unchanged`);
      assert.deepEqual(m.rcptTo, ["jsmith@sales.company.test"]);
      assert.equal(m.mailFrom, "jm@partner.test");
    });
    const first = replies[0]?.id ?? "";
    await waitUntil(
      async () => !(await suite.gw.exists(keys.inbound("SALES", first))),
      10_000,
      () => "the pushed message leaves SALES's inbound mailbag",
    );
    const s = await pushStatus(first);
    assert.equal(s?.recipients["jsmith@sales.company.test"]?.state, "delivered");
    assert.ok(await suite.gw.object(keys.inbound("HQ", first)), "HQ (pickup) keeps its copy");
  });

  test("SALES's host down: its mail waits while HQ's and outbound mail flow, then arrives in order", async () => {
    const before = sales.messages.length;
    const outBefore = suite.smartHost.messages.length;
    salesLink.down();
    try {
      const markers = ["down-1", "down-2", "down-3"];
      const replies = await sendMany(
        suite.gw.port(),
        markers.map((m) => ({
          from: "jm@partner.test",
          to: "jsmith@sales.company.test",
          raw: marked(m),
        })),
      );
      const waiting = replies[0]?.id ?? "";
      await waitUntil(
        async () =>
          (await pushStatus(waiting))?.recipients["jsmith@sales.company.test"]?.state ===
          "deferred",
        20_000,
        () => "first push attempt deferred",
      );
      // Meanwhile: outside → HQ (pickup) and HQ → the SMTP world.
      const hq = await send({
        port: suite.gw.port(),
        from: "jm@partner.test",
        to: "ceo@hq.company.test",
        raw: marked("hq-meanwhile"),
      });
      const out = await send({
        port: suite.gw.port(),
        from: "jsmith@hq.company.test",
        to: "someone@partner.test",
        raw: marked("out-meanwhile", "jsmith@hq.company.test", "someone@partner.test"),
      });
      assert.ok(hq.ok && out.ok);
      await suite.smartHost.waitFor(outBefore + 1);
      assert.equal(subjectOf(suite.smartHost.messages[outBefore]?.raw ?? ""), "out-meanwhile");
      await waitUntil(
        async () => (await suite.gw.object(keys.inbound("HQ", hq.id ?? ""))) !== undefined,
        10_000,
        () => "HQ's mail in its mailbag",
      );
      assert.equal(sales.messages.length, before, "nothing reached SALES while it was down");
      assert.ok(
        await suite.gw.object(keys.inbound("SALES", waiting)),
        "SALES's mail waits in its mailbag",
      );
      salesLink.up();
      const got = (await sales.waitFor(before + 3, 30_000)).slice(before);
      assert.deepEqual(
        got.map((m) => subjectOf(m.raw)),
        markers,
      );
      const s = await pushStatus(waiting);
      assert.equal(s?.recipients["jsmith@sales.company.test"]?.state, "delivered");
      assert.ok((s?.recipients["jsmith@sales.company.test"]?.attempts ?? 0) >= 2);
    } finally {
      salesLink.up();
    }
  });

  test("a 5xx from SALES's server fails that recipient for good; the others are delivered", async () => {
    sales.behaviour = {
      rcpt: (a) => (a === "gone@sales.company.test" ? [550, "5.1.1 No such user"] : undefined),
    };
    try {
      const r = await send({
        port: suite.gw.port(),
        from: "jm@partner.test",
        to: ["gone@sales.company.test", "jsmith@sales.company.test"],
        raw: marked("push-5xx"),
      });
      const id = r.id ?? "";
      await waitUntil(
        async () => (await pushStatus(id))?.recipients["gone@sales.company.test"] !== undefined,
        10_000,
        () => "push attempted",
      );
      await waitUntil(
        async () => !(await suite.gw.exists(keys.inbound("SALES", id))),
        10_000,
        () => "push settled: the message left SALES's mailbag",
      );
      const s = await pushStatus(id);
      assert.equal(s?.recipients["gone@sales.company.test"]?.state, "failed");
      assert.match(
        s?.recipients["gone@sales.company.test"]?.reply ?? "",
        /550 5\.1\.1 No such user/,
      );
      assert.equal(s?.recipients["jsmith@sales.company.test"]?.state, "delivered");
      const got = sales.messages.filter((m) => subjectOf(m.raw) === "push-5xx");
      assert.equal(got.length, 1);
      assert.deepEqual(got[0]?.rcptTo, ["jsmith@sales.company.test"]);
    } finally {
      sales.behaviour = {};
    }
  });
});

describe("push over LMTP", () => {
  test("a postoffice whose mail store speaks LMTP gets its mail, each recipient answered", async () => {
    const store = await startSink({}, { lmtp: true });
    const config = testConfig(suite.smartHost.url, (c) => {
      Object.assign(c.postoffices[0] as object, { inbound: { deliver: store.url } });
    });
    const net = await startTestNetwork(config, suite.backend.endpoint);
    try {
      const r = await send({
        port: net.port(),
        from: "jm@partner.test",
        to: ["a@hq.company.test", "b@hq.company.test"],
        raw: marked("lmtp-1"),
      });
      assert.ok(r.ok);
      const [m] = await store.waitFor(1);
      assert.deepEqual(m?.rcptTo, ["a@hq.company.test", "b@hq.company.test"]);
      assert.ok(withoutTrace(m?.raw ?? Buffer.alloc(0)).equals(marked("lmtp-1")));
    } finally {
      await net.stop();
      await store.close();
    }
  });
});
