/**
 * The dedicated layout (examples/dedicated.json) on the emulator: one gateway that only sends and
 * one that only receives, for the same postoffices. The send gateway relays its postoffices' mail
 * to the smart host; the receive gateway files mail for them in their inbound mailbag. Besides
 * what it asserts, it is what makes the send and receive gateways' parts run under the IAM
 * simulation (test/least-privilege), whose other suites run gateways of mode `both`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { keys } from "../../core/names.ts";
import { send } from "../helpers/client.ts";
import { subjectOf } from "../helpers/postoffice.ts";
import { waitUntil } from "../helpers/sink.ts";
import { gatewaySuite } from "../helpers/suite.ts";

const suite = gatewaySuite({
  change: (c) => {
    c.gateways = [
      { id: "SEND", mode: "send", postoffices: ["HQ", "SALES"], hostname: "out.company.test" },
      { id: "RECV", mode: "receive", postoffices: ["HQ", "SALES"], hostname: "in.company.test" },
    ];
  },
});

/** One message `subject` from `from` to `to` into `gateway`'s ingress, accepted. */
async function accepted(gateway: string, subject: string, from: string, to: string) {
  const raw = `From: ${from}\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@modes.test>\r\n\r\nbody of ${subject}\r\n`;
  const r = await send({ port: suite.gw.port(gateway), from, to, raw });
  assert.equal(r.code, 250, r.reply);
  assert.ok(r.id);
  return r.id;
}

test("send gateway: its postoffice's mail reaches the smart host", async () => {
  await accepted("SEND", "outgoing", "jsmith@hq.company.test", "someone@partner.test");
  await waitUntil(
    () => suite.smartHost.messages.some((m) => subjectOf(m.raw) === "outgoing"),
    30_000,
    () => "the message at the smart host",
  );
});

test("receive gateway: mail for its postoffice lands in the inbound mailbag", async () => {
  const id = await accepted("RECV", "incoming", "someone@partner.test", "jsmith@hq.company.test");
  const key = keys.inbound("HQ", id);
  await waitUntil(
    async () => (await suite.gw.object(key, "RECV"))?.includes("Subject: incoming") === true,
    30_000,
    () => `${key} in RECV's mailbag`,
  );
  assert.equal(suite.smartHost.messages.filter((m) => subjectOf(m.raw) === "incoming").length, 0);
});
