/** Resource names and mailbag keys (core/names.ts). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gatewayResources, keys } from "../../core/names.ts";

describe("names", () => {
  test("names: FIFO queues end in .fifo, the bucket is lower-case", () => {
    const r = gatewayResources("mailbag", "GW-A");
    assert.equal(r.bucket, "mailbag-gw-a");
    assert.equal(r.queues.route, "mailbag-gw-a-route.fifo");
    assert.equal(r.deadLetterQueues.deliver, "mailbag-gw-a-deliver-dlq.fifo");
    assert.equal(keys.inbound("SALES", "ID"), "inbound/SALES/ID.eml");
  });
});
