/**
 * routeBatch: a FIFO batch of route jobs is routed in order, every envelope not carried by its job
 * read at once, the delivery jobs sent in one ordered batch call; a failure stops the batch at
 * that job, and a job whose body is gone is abandoned.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Envelope } from "../../core/envelope.ts";
import { keys } from "../../core/names.ts";
import type { QueuedJob } from "../../core/ports.ts";
import { type BatchResult, routeBatch } from "../../core/route-message.ts";
import { envelopeRecord } from "../helpers/records.ts";
import { backbone, memoryQueue, memoryStore } from "../helpers/routing-fixtures.ts";

const envelope = (id: string) =>
  envelopeRecord({
    id,
    gateway: "GW-A",
    mailFrom: "a@po1.company.test",
    rcptTo: [`r${id}@partner.test`],
  });

const ids = ["01A", "01B", "01C", "01D"];

function rig(accepted?: number) {
  const store = memoryStore();
  const queue = memoryQueue();
  const batches: QueuedJob[][] = [];
  const sendBatch = queue.sendBatch;
  queue.sendBatch = async (name, jobs) => {
    batches.push([...jobs]);
    return sendBatch(name, accepted === undefined ? jobs : jobs.slice(0, accepted));
  };
  // Envelopes answer in reverse order: routing must still follow the batch's order.
  const getJson = store.getJson;
  store.getJson = async (key) => {
    const i = ids.findIndex((id) => key === keys.envelope(id));
    await new Promise((r) => setTimeout(r, (ids.length - i) * 5));
    return getJson(key);
  };
  for (const id of ids.filter((id) => id !== "01C")) store.putJson(keys.envelope(id), envelope(id));
  const deps = { map: backbone(), store, queue, deliverQueue: "dq", pushQueue: "pq" };
  return { deps, queue, batches };
}
const jobs = ids.map((id) => ({ v: 1 as const, id, gateway: "GW-A" }));
/** Route jobs that carry their envelope, as the ingress sends them. */
const carrying = (of: string[], make: (id: string) => Envelope) =>
  of.map((id) => ({ v: 1 as const, id, gateway: "GW-A", envelope: make(id) }));
const kinds = (results: BatchResult[]) => results.map((r) => (r.ok ? r.outcome.kind : "failed"));

test("in order, one batch call for all delivery jobs; a job without envelope is abandoned", async () => {
  const { deps, queue, batches } = rig();
  const results = await routeBatch(deps, jobs);
  assert.deepEqual(kinds(results), ["routed", "routed", "abandoned", "routed"]);
  assert.equal(batches.length, 1);
  assert.deepEqual(
    queue.sent.map((j) => j.dedup),
    ["01A", "01B", "01D"],
  );
});

test("a delivery job not queued fails its route job and stops the batch there", async () => {
  const { deps } = rig(1);
  const results = await routeBatch(deps, jobs);
  assert.deepEqual(
    results.map((r) => r.ok),
    [true, false],
  );
});

test("delivery jobs carry the envelope; `fresh` only for a route job received the first time", async () => {
  const { deps, queue } = rig();
  await routeBatch(deps, jobs, [true, false, true, true]);
  const sent = queue.sent.map(
    (j) => j.body as { id: string; fresh?: boolean; envelope?: { id: string } },
  );
  assert.deepEqual(
    sent.map((b) => [b.id, b.envelope?.id, b.fresh]),
    [
      ["01A", "01A", true],
      ["01B", "01B", undefined],
      ["01D", "01D", true],
    ],
  );
});

test("jobs carrying their envelope are routed without one read from the mailbag", async () => {
  const { deps, queue } = rig();
  const reads: string[] = [];
  const getJson = deps.store.getJson;
  deps.store.getJson = async (key) => {
    reads.push(key);
    return getJson(key);
  };
  const results = await routeBatch(deps, carrying(["01E", "01F"], envelope), [true, true]);
  assert.deepEqual(kinds(results), ["routed", "routed"]);
  assert.deepEqual(reads, []);
  assert.deepEqual(
    queue.sent.map((j) => j.dedup),
    ["01E", "01F"],
  );
});

test("a carried envelope whose body is gone (refused after its job was queued) is abandoned at the inbound copy", async () => {
  const { deps, queue } = rig();
  const store = deps.store;
  const inbound = (id: string) =>
    envelopeRecord({
      id,
      gateway: "GW-A",
      mailFrom: "x@partner.test",
      rcptTo: ["a@po1.company.test"],
    });
  store.objects.set(keys.message("01H"), Buffer.from("Subject: kept\r\n\r\n"));
  const results = await routeBatch(deps, carrying(["01G", "01H"], inbound), [true, true]);
  assert.deepEqual(kinds(results), ["abandoned", "routed"]);
  const written = [...store.objects.keys()].filter((k) => k.startsWith("inbound/")).sort();
  assert.deepEqual(
    written,
    [keys.inbound("PO1", "01H"), keys.inboundEnvelope("PO1", "01H")].sort(),
  );
  assert.ok(
    queue.sent.every((j) => !JSON.stringify(j.body).includes("01G")),
    "no job for 01G",
  );
});
