/**
 * deliverMessage (core/deliver.ts) against a real SMTP server on 127.0.0.1 (test/helpers/sink.ts)
 * through the real smart host transport: per recipient delivered / failed / deferred, the status
 * record, attempt counts, and a retry that sends only what is still pending. (Reports and the
 * retry schedule have their own tests; here they only have to happen.)
 */
import assert from "node:assert/strict";
import { after, beforeEach, describe, test } from "node:test";
import { type DeliverDeps, deliverMessage } from "../../core/deliver.ts";
import { parseStatus } from "../../core/envelope.ts";
import { isMailbagError } from "../../core/errors.ts";
import { keys } from "../../core/names.ts";
import { smtpTransport } from "../../functions/shared/smtp-transport.ts";
import { deliverJob, envelopeRecord, MESSAGE_ID } from "../helpers/records.ts";
import { memoryDeliverDeps, memoryQueue, memoryStore } from "../helpers/routing-fixtures.ts";
import { startSink } from "../helpers/sink.ts";

const BODY = Buffer.from("Subject: deliver test\r\n\r\nhello\r\n");
const sink = await startSink();
after(() => sink.close());

function rig(url = sink.url) {
  const store = memoryStore();
  store.objects.set(keys.message(MESSAGE_ID), BODY);
  store.objects.set(
    keys.envelope(MESSAGE_ID),
    envelopeRecord({
      mailFrom: "jdoe@hq.company.test",
      rcptTo: ["a@x.test", "b@x.test"],
      size: BODY.length,
    }),
  );
  const queue = memoryQueue();
  let t = 0;
  const now = () => new Date(Date.UTC(2026, 10, 23, 8, 0, t++));
  const deps: DeliverDeps = memoryDeliverDeps(store, queue, smtpTransport(url, "gw.test"), now);
  const status = () => parseStatus(store.objects.get(keys.status(MESSAGE_ID)));
  return { store, queue, deps, status };
}

const job = deliverJob({ recipients: ["a@x.test", "b@x.test"] });

describe("deliverMessage", () => {
  beforeEach(() => {
    sink.behaviour = {};
    sink.messages.length = 0;
  });

  test("delivered: every recipient accepted, one attempt each, the envelope's sender used", async () => {
    const { deps, status } = rig();
    const result = await deliverMessage(deps, job);
    assert.deepEqual(Object.keys(result.status.recipients).sort(), ["a@x.test", "b@x.test"]);
    assert.equal(result.retry, undefined);
    for (const r of Object.values(status().recipients)) {
      assert.equal(r.state, "delivered");
      assert.equal(r.attempts, 1);
      assert.match(r.reply, /^250 /);
    }
    assert.equal(sink.messages.length, 1);
    assert.equal(sink.messages[0]?.mailFrom, "jdoe@hq.company.test");
    assert.deepEqual(sink.messages[0]?.rcptTo, ["a@x.test", "b@x.test"]);
    assert.deepEqual(sink.messages[0]?.raw, BODY);
  });

  test("abandoned: the body is gone (refused after its job was queued): nothing sent, nothing recorded", async () => {
    const { store, deps } = rig();
    store.objects.delete(keys.message(MESSAGE_ID));
    const result = await deliverMessage(deps, job);
    assert.equal(result.abandoned, true);
    assert.equal(sink.messages.length, 0);
    assert.equal(store.objects.has(keys.status(MESSAGE_ID)), false, "no status record");
  });

  test("failed: a 5xx at RCPT fails that recipient for good, the rest is delivered, no retry", async () => {
    sink.behaviour = { rcpt: (a) => (a === "b@x.test" ? [550, "no such user"] : undefined) };
    const { deps, status } = rig();
    await deliverMessage(deps, job);
    const s = status().recipients;
    assert.equal(s["a@x.test"]?.state, "delivered");
    assert.equal(s["b@x.test"]?.state, "failed");
    assert.match(s["b@x.test"]?.reply ?? "", /^550 /);
  });

  test("deferred: a 4xx leaves the recipient for a retry, scheduled on the retry queue", async () => {
    sink.behaviour = { rcpt: (a) => (a === "b@x.test" ? [451, "try later"] : undefined) };
    const { deps, status, queue } = rig();
    const outcome = await deliverMessage(deps, job);
    assert.deepEqual(outcome.retry?.recipients, ["b@x.test"]);
    assert.deepEqual(
      queue.sent.filter((j) => j.queue === "retry").map((j) => (j.body as { id: string }).id),
      [MESSAGE_ID],
    );
    assert.equal(status().recipients["a@x.test"]?.state, "delivered");
    assert.equal(status().recipients["b@x.test"]?.state, "deferred");
    assert.equal(status().recipients["b@x.test"]?.attempts, 1);
  });

  test("a retry sends only what is pending and counts its attempts", async () => {
    sink.behaviour = { rcpt: (a) => (a === "b@x.test" ? [451, "try later"] : undefined) };
    const { deps, status } = rig();
    await deliverMessage(deps, job);
    sink.behaviour = {};
    sink.messages.length = 0;
    await deliverMessage(deps, job);
    assert.equal(sink.messages.length, 1);
    assert.deepEqual(sink.messages[0]?.rcptTo, ["b@x.test"], "a@x.test is not sent twice");
    const s = status().recipients;
    assert.equal(s["a@x.test"]?.attempts, 1);
    assert.equal(s["b@x.test"]?.attempts, 2);
    assert.equal(s["b@x.test"]?.state, "delivered");
    // A third run with nothing pending sends nothing at all.
    await deliverMessage(deps, job);
    assert.equal(sink.messages.length, 1);
  });

  test("a 5xx to the whole message fails every recipient; no answer defers them", async () => {
    sink.behaviour = { data: () => [554, "content rejected"] };
    const failed = rig();
    await deliverMessage(failed.deps, job);
    for (const r of Object.values(failed.status().recipients)) assert.equal(r.state, "failed");

    // Port 9 (discard) on loopback: connection refused, i.e. no reply at all: the line waits.
    const unreachable = rig("smtp://127.0.0.1:9");
    await assert.rejects(deliverMessage(unreachable.deps, job), (err: unknown) => {
      assert.ok(isMailbagError(err));
      assert.equal(err.code, "next-hop-unreachable");
      return true;
    });
    for (const r of Object.values(unreachable.status().recipients))
      assert.equal(r.state, "deferred");
  });
});
