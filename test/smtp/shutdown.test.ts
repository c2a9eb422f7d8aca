/** Graceful shutdown: stopping the ingress lets an open transaction finish; new clients are refused. */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { keys } from "../../core/names.ts";
import { send } from "../helpers/client.ts";
import { fixture, startPartitionable, testConfig } from "../helpers/network.ts";

test("a message in the middle of DATA when shutdown starts still gets its 250 and is stored", async () => {
  const rig = await startPartitionable(testConfig("smtp://127.0.0.1:9"), {
    ingress: true,
    route: false,
    deliver: false,
  });
  const port = rig.gw.port();
  try {
    const raw = fixture("multipart-attachment.eml");
    const body = new PassThrough();
    const reply = send({
      port,
      from: "jm@partner.test",
      to: "jsmith@sales.company.test",
      raw: body,
    });
    body.write(raw.subarray(0, 1000));
    await new Promise((r) => setTimeout(r, 300));
    const stopping = rig.gw.stop();
    await new Promise((r) => setTimeout(r, 200));
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("error", () => resolve(true));
      s.once("connect", () => {
        s.destroy();
        resolve(false);
      });
    });
    assert.equal(refused, true, "no new connections once shutdown has begun");
    body.end(raw.subarray(1000));
    const r = await reply;
    assert.equal(r.ok, true, r.reply);
    await stopping;
    const stored = await rig.gw.object(keys.message(r.id ?? ""));
    assert.ok(stored?.endsWith(raw.toString("utf8")), "the drained message is in the mailbag");
  } finally {
    await rig.stop();
  }
});
