/**
 * A FIFO batch of delivery jobs as one delivery line (core/deliver-line.ts) driven by the FIFO
 * batch runner (functions/shared/fifo-batch.ts), against a real SMTP server on 127.0.0.1: reads
 * ahead that answer out of order still send in order, the first attempt of a fresh job reads
 * neither status nor envelope, a next hop unreachable at job k holds k..n, an outcome that cannot
 * be stored fails its job and the rest, and two jobs of one message share one status record.
 */
import assert from "node:assert/strict";
import { after, beforeEach, describe, test } from "node:test";
import type { SQSRecord } from "aws-lambda";
import { deadLetter } from "../../core/dead-letter.ts";
import type { DeliverDeps } from "../../core/deliver.ts";
import { deliveryLine, type LineEntry } from "../../core/deliver-line.ts";
import { type DeliverJob, parseStatus } from "../../core/envelope.ts";
import { keys } from "../../core/names.ts";
import type { MailbagStore } from "../../core/ports.ts";
import { processFifoBatch } from "../../functions/shared/fifo-batch.ts";
import { smtpTransport } from "../../functions/shared/smtp-transport.ts";
import { deliverJob, envelopeRecord } from "../helpers/records.ts";
import { memoryDeliverDeps, memoryQueue, memoryStore } from "../helpers/routing-fixtures.ts";
import { startSink } from "../helpers/sink.ts";

const sink = await startSink();
after(() => sink.close());
const ids = Array.from({ length: 6 }, (_, i) => `01M83NWSMK14EAP3CBEJT2Y9S${i}`);
const bodyOf = (id: string) => Buffer.from(`Subject: ${id}\r\n\r\nline test\r\n`);
/** An envelope received just now (the fixture's date is past the queue lifetime). */
const envelopeOf = (id: string, rcptTo = ["r@x.test"]) =>
  envelopeRecord({
    id,
    mailFrom: "a@hq.company.test",
    rcptTo,
    size: 40,
    receivedAt: new Date().toISOString(),
  });

/** The memory store, its reads logged, answering later the earlier they were asked (reversed). */
function rig(options: { failPut?: string } = {}) {
  const store = memoryStore();
  const reads: string[] = [];
  let pending = 0;
  const slow = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    reads.push(key);
    pending += 1;
    // The first read asked answers last: read-ahead must not let answers decide the order.
    const delay = 5 * (8 - pending);
    return new Promise((resolve, reject) =>
      setTimeout(() => read().then(resolve, reject), Math.max(0, delay)),
    );
  };
  const logged: MailbagStore = {
    ...store,
    getJson: (key) => slow(key, () => store.getJson(key)),
    getStream: (key, range) => slow(key, () => store.getStream(key, range)),
    putJson: async (key, value) => {
      if (key === options.failPut) throw new Error("S3 down for this write");
      return store.putJson(key, value);
    },
  };
  for (const id of ids) {
    store.objects.set(keys.message(id), bodyOf(id));
    store.objects.set(keys.envelope(id), envelopeOf(id));
  }
  const queue = memoryQueue();
  const deps = (url = sink.url): DeliverDeps =>
    memoryDeliverDeps(logged, queue, smtpTransport(url, "gw.test"));
  return { store, reads, deps };
}

const record = (messageId: string, receives = 1) =>
  ({
    messageId,
    attributes: { MessageGroupId: "GW1", ApproximateReceiveCount: String(receives) },
  }) as unknown as SQSRecord;

/** Runs jobs through a delivery line as functions/deliver does; job i is record `m${i}`. */
async function runLine(jobs: readonly { job: DeliverJob; deps: DeliverDeps; receives?: number }[]) {
  const line = deliveryLine();
  const byId = new Map(jobs.map((j, i) => [`m${i}`, j]));
  const failed: string[] = [];
  const response = await processFifoBatch<LineEntry>(
    jobs.map((j, i) => record(`m${i}`, j.receives)),
    async (_r, entry) => {
      if (!entry) throw new Error("no entry");
      return line.deliver(entry);
    },
    (r) => failed.push(r.messageId),
    {
      prepare: (r) => {
        const j = byId.get(r.messageId);
        if (!j) throw new Error("unknown record");
        return line.prepare(j.deps, j.job, (j.receives ?? 1) === 1);
      },
      discard: (entry) => line.discard(entry),
    },
  );
  return { failures: response.batchItemFailures.map((f) => f.itemIdentifier), failed };
}

const job = (id: string, extra: Partial<DeliverJob> = {}) =>
  deliverJob({ id, recipients: ["r@x.test"], ...extra });

describe("delivery line (a FIFO batch, ordered, not serial)", () => {
  beforeEach(() => {
    sink.behaviour = {};
    sink.messages.length = 0;
  });

  test("reads answered in reverse order still send in batch order, over one connection", async () => {
    const { deps } = rig();
    const d = deps();
    const before = sink.connections;
    const r = await runLine(ids.map((id) => ({ job: job(id), deps: d })));
    assert.deepEqual(r.failures, []);
    assert.deepEqual(
      sink.messages.map((m) => m.raw.toString().split("\r\n")[0]),
      ids.map((id) => `Subject: ${id}`),
    );
    assert.equal(sink.connections - before, 1, "one SMTP connection for the whole batch");
  });

  test("a fresh job's first attempt reads neither status nor envelope; a redelivery reads both", async () => {
    const { deps, reads, store } = rig();
    const d = deps();
    const [id0 = "", id1 = ""] = ids;
    const carried = (id: string) =>
      job(id, {
        fresh: true,
        envelope: envelopeOf(id),
      });
    await runLine([
      { job: carried(id0), deps: d },
      { job: carried(id1), deps: d, receives: 2 },
    ]);
    assert.deepEqual(
      reads.filter((k) => k.includes(id0)),
      [keys.message(id0)],
      "first attempt: the body only",
    );
    assert.ok(reads.includes(keys.status(id1)), "a second receive reads the status record");
    assert.equal(sink.messages.length, 2);
    assert.equal(
      parseStatus(store.objects.get(keys.status(id0))).recipients["r@x.test"]?.state,
      "delivered",
    );
  });

  test("next hop unreachable at job k: k..n fail (held, in order), 0..k-1 delivered and stored", async () => {
    const { deps, store } = rig();
    const up = deps();
    const down = deps("smtp://127.0.0.1:1"); // nothing listens on port 1: connection refused
    const r = await runLine(ids.map((id, i) => ({ job: job(id), deps: i < 2 ? up : down })));
    assert.deepEqual(r.failures, ["m2", "m3", "m4", "m5"]);
    assert.deepEqual(r.failed, ["m2"], "one failure logged: the head of the held line");
    assert.equal(sink.messages.length, 2);
    for (const id of ids.slice(0, 2))
      assert.equal(
        parseStatus(store.objects.get(keys.status(id))).recipients["r@x.test"]?.state,
        "delivered",
      );
    for (const id of ids.slice(3)) assert.equal(store.objects.get(keys.status(id)), undefined);
  });

  test("an outcome that cannot be stored fails its job and every later one", async () => {
    const [, , id2 = ""] = ids;
    const { deps } = rig({ failPut: keys.status(id2) });
    const d = deps();
    const r = await runLine(ids.slice(0, 4).map((id) => ({ job: job(id), deps: d })));
    assert.deepEqual(r.failures, ["m2", "m3"]);
    assert.equal(sink.messages.length, 4, "sent: the store failed after the send");
  });

  test("two jobs of one message in a batch: the second starts from the first's outcome", async () => {
    const { deps, store } = rig();
    const d = deps();
    const [id0 = ""] = ids;
    store.objects.set(keys.envelope(id0), envelopeOf(id0, ["r@x.test", "s@x.test"]));
    await runLine([
      { job: job(id0), deps: d },
      { job: job(id0, { recipients: ["s@x.test"] }), deps: d },
    ]);
    const s = parseStatus(store.objects.get(keys.status(id0))).recipients;
    assert.equal(s["r@x.test"]?.state, "delivered", "the first job's outcome is kept");
    assert.equal(s["s@x.test"]?.state, "delivered");
  });

  test("a dead-lettered job loses its fresh mark: redriven, it reads the status record", async () => {
    const { store } = rig();
    const queue = memoryQueue();
    const [id0 = ""] = ids;
    const body = JSON.stringify(job(id0, { fresh: true }));
    const reports = memoryDeliverDeps(store, queue, smtpTransport(sink.url, "gw.test")).reports;
    await deadLetter(
      { store, queue, reports },
      { body, queue: "dlq", groupId: "GW1", deduplicationId: "m0", error: new Error("x") },
    );
    const moved = queue.sent.find((j) => j.queue === "dlq")?.body as Record<string, unknown>;
    assert.equal(moved.id, id0);
    assert.equal("fresh" in moved, false);
  });
});
