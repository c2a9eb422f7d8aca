/**
 * Log events and EMF metrics: one line per recipient named after its outcome, carrying the mail
 * id; metrics as CloudWatch embedded metric format documents on stdout.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { newMessageId } from "../../core/ids.ts";
import { emfDocument, METRICS } from "../../core/metrics.ts";
import { deliveryEvents } from "../../functions/shared/events.ts";

/** Runs `fn` and returns the JSON lines it wrote to stderr and stdout. */
function capture(fn: () => void): {
  logs: Record<string, unknown>[];
  out: Record<string, unknown>[];
} {
  const logs: string[] = [];
  const out: string[] = [];
  const err = process.stderr.write;
  const std = process.stdout.write;
  process.stderr.write = ((s: string) => logs.push(s) > 0) as typeof process.stderr.write;
  process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stderr.write = err;
    process.stdout.write = std;
  }
  const parse = (lines: string[]) =>
    lines.flatMap((l) => l.trim().split("\n")).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logs: parse(logs), out: parse(out) };
}

describe("delivery events", () => {
  test("a delivered and a failed recipient: two lines, `delivered` and `failed`, with the mail id", () => {
    const prev = { log: process.env.MAILBAG_LOG, metrics: process.env.MAILBAG_METRICS };
    process.env.MAILBAG_LOG = "info";
    process.env.MAILBAG_METRICS = "emf";
    try {
      const id = newMessageId(Date.now() - 5000);
      const since = Date.now() - 1000;
      const at = new Date().toISOString();
      const old = new Date(since - 60_000).toISOString();
      const { logs, out } = capture(() =>
        deliveryEvents(
          { id, gateway: "GW1", recipients: ["a@x.test", "b@x.test", "c@x.test"] },
          {
            id,
            recipients: {
              "a@x.test": { state: "delivered", reply: "250 2.0.0 ok", at, attempts: 1 },
              "b@x.test": { state: "failed", reply: "550 5.1.1 no such user", at, attempts: 1 },
              // Decided by an earlier attempt: not this attempt's event.
              "c@x.test": { state: "delivered", reply: "250 ok", at: old, attempts: 1 },
            },
          },
          since,
        ),
      );
      assert.deepEqual(
        logs.map((l) => [l.event, l.id, l.recipient]),
        [
          ["delivered", id, "a@x.test"],
          ["failed", id, "b@x.test"],
        ],
      );
      assert.equal(logs[1]?.reply, "550 5.1.1 no such user");
      const counts = out.find((d) => "Delivered" in d);
      assert.equal(counts?.Delivered, 1);
      assert.equal(counts?.Failed, 1);
      const latency = out.find((d) => "EndToEndLatency" in d);
      assert.ok(Number(latency?.EndToEndLatency) >= 4000, `latency ${latency?.EndToEndLatency}`);
    } finally {
      process.env.MAILBAG_LOG = prev.log;
      if (prev.metrics === undefined) delete process.env.MAILBAG_METRICS;
      else process.env.MAILBAG_METRICS = prev.metrics;
    }
  });
});

describe("embedded metric format", () => {
  test("a document names its namespace, dimensions and units, values at the top level", () => {
    const d = emfDocument("GW1", { Refused: 1 }, { Reason: "relaying-denied" }, new Date(1000));
    assert.deepEqual(d, {
      _aws: {
        Timestamp: 1000,
        CloudWatchMetrics: [
          {
            Namespace: "Mailbag",
            Dimensions: [["Gateway", "Reason"]],
            Metrics: [{ Name: "Refused", Unit: "Count" }],
          },
        ],
      },
      Gateway: "GW1",
      Reason: "relaying-denied",
      Refused: 1,
    });
    assert.equal(METRICS.EndToEndLatency, "Milliseconds");
  });
});
