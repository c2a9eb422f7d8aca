/**
 * acceptMessage (core/accept.ts): a 250 only after message, envelope and route job are written
 * (the job carries the envelope when it is small, so the router need not read it);
 * after any failure nothing it wrote is left behind, so a refused attempt is never delivered.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { type AcceptDeps, acceptMessage } from "../../core/accept.ts";
import { MAX_CARRIED_ENVELOPE } from "../../core/envelope.ts";
import { isMailbagError } from "../../core/errors.ts";
import { keys } from "../../core/names.ts";
import { acceptEnvelope, MESSAGE_ID } from "../helpers/records.ts";
import { memoryQueue, memoryStore } from "../helpers/routing-fixtures.ts";

const input = (data = "Subject: x\r\n\r\nhello\r\n", maxBytes = 1_000_000) => ({
  data: Readable.from([Buffer.from(data)]),
  header: "Received: from client by us\r\n",
  maxBytes,
  envelope: acceptEnvelope(),
});

function rig(fail: { putJson?: boolean; send?: boolean } = {}) {
  const store = memoryStore();
  const queue = memoryQueue();
  const deps: AcceptDeps = {
    store: {
      ...store,
      putJson: fail.putJson ? async () => Promise.reject(new Error("S3 down")) : store.putJson,
    },
    queue: fail.send
      ? { ...queue, send: async () => Promise.reject(new Error("SQS down")) }
      : queue,
    routeQueue: "rq",
  };
  return { store, queue, deps };
}

describe("acceptMessage", () => {
  test("success: message, envelope and route job (carrying the envelope), in that order of commitment", async () => {
    const { store, queue, deps } = rig();
    const envelope = await acceptMessage(deps, input());
    assert.ok(store.objects.has(keys.message(MESSAGE_ID)));
    assert.deepEqual(store.objects.get(keys.envelope(MESSAGE_ID)), envelope);
    assert.deepEqual(
      queue.sent.map((j) => j.body),
      [{ v: 1, id: MESSAGE_ID, gateway: "GW1", envelope }],
    );
  });

  test("an envelope too large to travel stays in the mailbag only: the job names the message", async () => {
    const { store, queue, deps } = rig();
    const many = Array.from({ length: 600 }, (_, i) => `recipient-${i}@partner.test`);
    const large = { ...input(), envelope: { ...acceptEnvelope(), rcptTo: many } };
    const envelope = await acceptMessage(deps, large);
    assert.ok(JSON.stringify(envelope).length > MAX_CARRIED_ENVELOPE);
    assert.deepEqual(store.objects.get(keys.envelope(MESSAGE_ID)), envelope);
    assert.deepEqual(
      queue.sent.map((j) => j.body),
      [{ v: 1, id: MESSAGE_ID, gateway: "GW1" }],
    );
  });

  for (const [what, fail] of [
    ["the envelope cannot be written", { putJson: true }],
    ["the route job cannot be queued", { send: true }],
  ] as const) {
    test(`${what}: 451, and the message and envelope are removed`, async () => {
      const { store, queue, deps } = rig(fail);
      await assert.rejects(acceptMessage(deps, input()), (err: unknown) => {
        assert.ok(isMailbagError(err), String(err));
        assert.equal(err.code, "backend-unavailable");
        assert.equal(err.responseCode, 451);
        return true;
      });
      assert.deepEqual([...store.objects.keys()], [], "nothing left in the mailbag");
      assert.deepEqual(queue.sent, []);
    });
  }

  test("too large: 552 while DATA streams, nothing left behind", async () => {
    const { store, queue, deps } = rig();
    await assert.rejects(acceptMessage(deps, input("x".repeat(5000), 1024)), (err: unknown) => {
      assert.ok(isMailbagError(err));
      assert.equal(err.code, "message-too-large");
      return true;
    });
    assert.deepEqual([...store.objects.keys()], []);
    assert.deepEqual(queue.sent, []);
  });
});
