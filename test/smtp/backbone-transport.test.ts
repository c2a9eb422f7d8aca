/**
 * Backbone transports are kept per peer (functions/shared/runtime.ts): consecutive backbone
 * jobs to the same gateway share one SMTP connection, as smart host jobs do.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { after, test } from "node:test";
import { createAwsClients } from "../../functions/shared/aws.ts";
import { createRuntime } from "../../functions/shared/runtime.ts";
import { config } from "../helpers/routing-fixtures.ts";
import { startSink } from "../helpers/sink.ts";

const sink = await startSink();
after(() => sink.close());

test("two backbone sends from GW-A to GW-B use one connection to GW-B's ingress", async () => {
  // The AWS clients are never called: only the delivery transport is used.
  const runtime = createRuntime(
    config("examples/backbone.json"),
    createAwsClients({ region: "us-east-1", endpoint: "http://127.0.0.1:9" }),
  );
  runtime.ingressUrls.set("GW-B", sink.url);
  const message = (n: number) =>
    Readable.from([Buffer.from(`Subject: backbone ${n}\r\n\r\nbody ${n}\r\n`)]);
  for (const n of [1, 2]) {
    // A fresh deliverDeps per job, as the delivery handler asks for one per record.
    const { transport } = runtime.deliverDeps("GW-A");
    const body = message(n);
    const result = await transport.send("a@po1.company.test", ["b@po2.company.test"], body, 40);
    assert.deepEqual(result.accepted, ["b@po2.company.test"]);
  }
  assert.equal(sink.messages.length, 2);
  assert.equal(sink.connections, 1);
});
