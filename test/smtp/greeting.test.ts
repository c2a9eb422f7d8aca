/**
 * `limits.greetingDelayMs`: the pause before the 220 greeting (smtp-server's early-talker check,
 * made a setting by patches/smtp-server+*.patch). A client that talks before the greeting is
 * refused with 421.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import { type PartitionableRig, startPartitionable, testConfig } from "../helpers/network.ts";

let rig: PartitionableRig;

before(async () => {
  const config = testConfig("smtp://127.0.0.1:9", (c) => {
    c.limits = { greetingDelayMs: 30_000 };
  });
  rig = await startPartitionable(config, { ingress: true, route: false, deliver: false });
});
after(() => rig?.stop());

test("with a 30 s greeting delay no 220 comes at first, and a client that talks first is an early talker", async () => {
  const socket = connect(rig.gw.port(), "127.0.0.1");
  let text = "";
  socket.on("data", (d: Buffer) => {
    text += d.toString();
  });
  await new Promise((resolve) => socket.once("connect", resolve));
  // Far longer than smtp-server's fixed 100 ms: a setting that was ignored would greet by now.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(text, "", "no greeting during the delay");
  socket.write("EHLO early.example\r\n");
  await new Promise((resolve) => socket.once("close", resolve));
  assert.match(text, /^421 .*talk too soon/);
});
