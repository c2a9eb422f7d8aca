/**
 * Partial batch responses for SQS FIFO event sources (functions/shared/fifo-batch.ts), and the
 * time a batch may take (functions/shared/middleware.ts).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SQSRecord } from "aws-lambda";
import { processFifoBatch } from "../../functions/shared/fifo-batch.ts";
import { fifoBatch, type RuntimeContext } from "../../functions/shared/middleware.ts";
import type { Runtime } from "../../functions/shared/runtime.ts";

describe("FIFO partial batch failures", () => {
  const record = (messageId: string) => ({ messageId }) as SQSRecord;

  test("all processed: no failures", async () => {
    const seen: string[] = [];
    const r = await processFifoBatch(
      [record("a"), record("b")],
      async (x) => void seen.push(x.messageId),
      () => {},
    );
    assert.deepEqual(r.batchItemFailures, []);
    assert.deepEqual(seen, ["a", "b"]);
  });

  test("the first failure stops the batch: it and everything after it are reported", async () => {
    const seen: string[] = [];
    const failures: string[] = [];
    const r = await processFifoBatch(
      [record("a"), record("b"), record("c")],
      async (x) => {
        seen.push(x.messageId);
        if (x.messageId === "b") throw new Error("smart host down");
      },
      (x) => failures.push(x.messageId),
    );
    assert.deepEqual(seen, ["a", "b"], "c is not processed out of order");
    assert.deepEqual(r.batchItemFailures, [{ itemIdentifier: "b" }, { itemIdentifier: "c" }]);
    assert.deepEqual(failures, ["b"]);
  });

  test("a failure stops its own group only: the other groups of the batch go on", async () => {
    const inGroup = (messageId: string, group: string) =>
      ({ messageId, attributes: { MessageGroupId: group } }) as unknown as SQSRecord;
    const seen: string[] = [];
    const r = await processFifoBatch(
      [
        inGroup("s1", "GW1.SALES"),
        inGroup("h1", "GW1.HQ"),
        inGroup("s2", "GW1.SALES"),
        inGroup("h2", "GW1.HQ"),
      ],
      async (x) => {
        seen.push(x.messageId);
        if (x.messageId === "s1") throw new Error("SALES's server is down");
      },
      () => {},
    );
    assert.deepEqual(seen, ["s1", "h1", "h2"], "s2 waits behind s1; HQ's records go on");
    assert.deepEqual(r.batchItemFailures, [{ itemIdentifier: "s1" }, { itemIdentifier: "s2" }]);
  });
});

describe("a batch's time (functions/shared/middleware.ts fifoBatch)", () => {
  const inLine = (id: string) =>
    ({
      messageId: id,
      receiptHandle: `handle-${id}`,
      body: "{}",
      attributes: { MessageGroupId: "GW1", ApproximateReceiveCount: "1" },
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:mailbag-GW1-deliver.fifo",
    }) as unknown as SQSRecord;
  const run = async (remainingMs: number) => {
    const postponed: [string, number][] = [];
    const runtime = {
      queue: {
        postpone: async (_queue: string, handle: string, seconds: number) =>
          void postponed.push([handle, seconds]),
      },
    } as unknown as Runtime;
    const seen: string[] = [];
    const handler = fifoBatch("deliver", async (r) => void seen.push(r.messageId));
    const response = await handler({ Records: ["a", "b", "c"].map(inLine) }, {
      getRemainingTimeInMillis: () => remainingMs,
      runtime,
    } as unknown as RuntimeContext);
    return { seen, failed: response.batchItemFailures.map((f) => f.itemIdentifier), postponed };
  };

  test("time enough: every record is processed", async () => {
    assert.deepEqual(await run(60_000), { seen: ["a", "b", "c"], failed: [], postponed: [] });
  });

  test("half the time spent: the first record still starts, the rest go back at once, in order", async () => {
    assert.deepEqual(await run(0), {
      seen: ["a"],
      failed: ["b", "c"],
      // Visible again at once, the line's head last (holdLines).
      postponed: [
        ["handle-c", 0],
        ["handle-b", 0],
      ],
    });
  });
});
