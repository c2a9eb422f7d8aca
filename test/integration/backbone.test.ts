/**
 * Backbone between two sites (seed Q148389), on the embedded emulator: GW-A serves PO1, GW-B
 * serves PO2, each with its own SMTP ingress, bucket and queues (examples/backbone.json). Mail
 * crosses over the SMTP backbone in order; a route loop between two misconfigured gateways is
 * stopped by the trace header instead of circulating.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { type DeliveryStatus, parseEnvelope, parseStatus } from "../../core/envelope.ts";
import { gatewayResources, keys } from "../../core/names.ts";
import { send, sendMany } from "../helpers/client.ts";
import { uniquePrefix } from "../helpers/network.ts";
import { config } from "../helpers/routing-fixtures.ts";
import { waitUntil } from "../helpers/sink.ts";
import { gatewaySuite } from "../helpers/suite.ts";

const suite = gatewaySuite({
  config: (smartHostUrl) =>
    config("examples/backbone.json", (raw) => {
      raw.prefix = uniquePrefix();
      raw.smartHost = { url: smartHostUrl };
      raw.queues = { visibilityTimeoutSeconds: 2, maxReceiveCount: 50 };
      // The misconfiguration: each site believes the other reaches partner.test.
      raw.addressSpaces?.push(
        { pattern: "*.partner.test", gateway: "GW-B", from: ["GW-A"] },
        { pattern: "*.partner.test", gateway: "GW-A", from: ["GW-B"] },
      );
    }),
});

/** Keys under `prefix` in a gateway's bucket, in key (= acceptance) order. */
async function list(gateway: string, prefix: string): Promise<string[]> {
  const bucket = gatewayResources(suite.gw.runtime.config.prefix, gateway).bucket;
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await suite.gw.clients.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    out.push(...(page.Contents ?? []).map((o) => o.Key ?? ""));
    token = page.NextContinuationToken;
  } while (token);
  return out.sort();
}

/** The messages a gateway accepted for `rcpt`: their ids. */
async function acceptedFor(gateway: string, rcpt: string): Promise<string[]> {
  const ids: string[] = [];
  for (const key of await list(gateway, "messages/")) {
    if (!key.endsWith(".envelope.json")) continue;
    const envelope = parseEnvelope(JSON.parse((await suite.gw.object(key, gateway)) ?? "null"));
    if (envelope.rcptTo.includes(rcpt)) ids.push(envelope.id);
  }
  return ids;
}

const message = (from: string, to: string, subject: string) =>
  `From: ${from}\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@company.test>\r\n\r\n${subject}\r\n`;

describe("backbone over SMTP between two sites", () => {
  test("PO1 → PO2: through GW-A and the backbone into PO2's inbound mailbag at GW-B, in order", async () => {
    const run = randomBytes(3).toString("hex");
    const subjects = Array.from({ length: 8 }, (_, i) => `bb-${run}-${i}`);
    const replies = await sendMany(
      suite.gw.port("GW-A"),
      subjects.map((s) => ({
        from: "jdoe@po1.company.test",
        to: "jsmith@po2.company.test",
        raw: message("jdoe@po1.company.test", "jsmith@po2.company.test", s),
      })),
    );
    assert.ok(replies.every((r) => r.code === 250));
    const arrived = async () => {
      const found: string[] = [];
      for (const key of await list("GW-B", "inbound/PO2/")) {
        if (!key.endsWith(".eml")) continue;
        const text = (await suite.gw.object(key, "GW-B")) ?? "";
        const subject = /^Subject: (bb-\S+)/m.exec(text)?.[1];
        if (subject?.startsWith(`bb-${run}-`)) found.push(subject);
      }
      return found;
    };
    await waitUntil(
      async () => (await arrived()).length === subjects.length,
      25_000,
      () => "PO2 mailbag",
    );
    assert.deepEqual(
      await arrived(),
      subjects,
      "PO2's inbound mailbag holds them in the order sent",
    );

    const first = (await list("GW-B", "inbound/PO2/")).find((k) => k.endsWith(".eml")) ?? "";
    const text = (await suite.gw.object(first, "GW-B")) ?? "";
    const prefix = suite.gw.runtime.config.prefix;
    const trace = [...text.matchAll(/^(Received: .*\r\n(\t.*\r\n)*|Mailbag-Trace: .*)/gm)].map(
      (m) => /Mailbag Gateway (\S+)\)|Mailbag-Trace: (\S+);/.exec(m[0])?.slice(1).find(Boolean),
    );
    assert.deepEqual(
      trace,
      ["GW-B", `${prefix}/GW-B`, "GW-A", `${prefix}/GW-A`],
      "crossed GW-A, then GW-B",
    );
    const envelope = parseEnvelope(
      JSON.parse((await suite.gw.object(first.replace(/\.eml$/, ".envelope.json"), "GW-B")) ?? ""),
    );
    assert.deepEqual(
      [envelope.mailFrom, envelope.rcptTo],
      ["jdoe@po1.company.test", ["jsmith@po2.company.test"]],
    );
    assert.deepEqual(await list("GW-A", "inbound/"), [], "nothing for PO2 stays at GW-A");
    assert.equal(suite.smartHost.messages.length, 0, "the smart host is not involved");
  });

  test("PO2 → PO1: the reverse route, from GW-B to PO1's inbound mailbag at GW-A", async () => {
    const subject = `rev-${randomBytes(3).toString("hex")}`;
    const r = await send({
      port: suite.gw.port("GW-B"),
      from: "jsmith@po2.company.test",
      to: "jdoe@po1.company.test",
      raw: message("jsmith@po2.company.test", "jdoe@po1.company.test", subject),
    });
    assert.equal(r.code, 250, r.reply);
    const find = async () => {
      for (const key of await list("GW-A", "inbound/PO1/")) {
        if (
          key.endsWith(".eml") &&
          (await suite.gw.object(key, "GW-A"))?.includes(`Subject: ${subject}\r\n`)
        )
          return key;
      }
      return undefined;
    };
    await waitUntil(
      async () => (await find()) !== undefined,
      25_000,
      () => "PO1 mailbag",
    );
  });
});

describe("RCPT uses the same decision", () => {
  test("refusals keep their code: bad mailbox name 553 5.1.3, relaying 550 5.7.1", async () => {
    const bad = await send({
      port: suite.gw.port("GW-B"),
      from: "x@outside.test",
      to: "john.smith@po2.company.test",
      raw: message("x@outside.test", "john.smith@po2.company.test", "bad"),
    });
    assert.match(
      bad.reply,
      /^553 5\.1\.3 <john\.smith@po2\.company\.test>: 'john\.smith' is neither/,
    );
    const relay = await send({
      port: suite.gw.port("GW-B"),
      from: "x@outside.test",
      to: "jdoe@po1.company.test",
      raw: message("x@outside.test", "jdoe@po1.company.test", "relay"),
    });
    assert.match(relay.reply, /^550 5\.7\.1 Relaying denied for <jdoe@po1\.company\.test>/);
  });
});

describe("route loop between two misconfigured gateways", () => {
  test("the message comes back to GW-A, which refuses it 554 5.4.6: stopped, not circulated", async () => {
    const rcpt = `loop-${randomBytes(3).toString("hex")}@mail.partner.test`;
    const r = await send({
      port: suite.gw.port("GW-A"),
      from: "jdoe@po1.company.test",
      to: rcpt,
      raw: message("jdoe@po1.company.test", rcpt, "loop"),
    });
    assert.equal(r.code, 250, r.reply);
    const statusAt = async (gateway: string, id: string): Promise<DeliveryStatus | undefined> => {
      const text = await suite.gw.object(keys.status(id), gateway);
      return text === undefined ? undefined : parseStatus(JSON.parse(text));
    };
    // GW-A carried it to GW-B; GW-B carried it back to GW-A, whose ingress refused it.
    let failed: DeliveryStatus | undefined;
    await waitUntil(
      async () => {
        const [id] = await acceptedFor("GW-B", rcpt);
        failed = id ? await statusAt("GW-B", id) : undefined;
        return failed?.recipients[rcpt]?.state === "failed";
      },
      25_000,
      () => `GW-B's status: ${JSON.stringify(failed)}`,
    );
    assert.match(
      failed?.recipients[rcpt]?.reply ?? "",
      /^554 5\.4\.6 Routing loop detected: the message already passed through gateway t\w+\/GW-A/,
    );
    const [firstId] = await acceptedFor("GW-A", rcpt);
    assert.equal(firstId, r.id);
    assert.equal(
      (await statusAt("GW-A", r.id ?? ""))?.recipients[rcpt]?.state,
      "delivered",
      "GW-A → GW-B went through",
    );

    // Nothing circulates: still one acceptance per gateway a while later.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.equal((await acceptedFor("GW-A", rcpt)).length, 1);
    assert.equal((await acceptedFor("GW-B", rcpt)).length, 1);
    assert.equal(suite.smartHost.messages.length, 0);
  });
});
