/**
 * The SQS job queue coalesces single sends made while a call to the same queue is in flight
 * into SendMessageBatch calls (functions/shared/sqs-queue.ts), on the embedded emulator and
 * on LocalStack: fewer calls, the same order, and each sender learns its own message's fate.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import { type AwsClients, createAwsClients } from "../../functions/shared/aws.ts";
import { sqsQueue } from "../../functions/shared/sqs-queue.ts";
import { type Backend, startBackend, uniquePrefix } from "../helpers/network.ts";

describe("SQS job queue: coalesced sends", () => {
  let backend: Backend;
  let clients: AwsClients;
  const calls: string[] = [];
  const prefix = uniquePrefix();

  before(async () => {
    backend = await startBackend();
    clients = createAwsClients({ endpoint: backend.endpoint, region: "us-east-1" });
    // Before the first call: the clients resolve their middleware stack once (cacheMiddleware).
    clients.sqs.middlewareStack.add(
      (next, context) => (args) => {
        calls.push(context.commandName ?? "");
        return next(args);
      },
      { step: "initialize", name: "testCallLog" },
    );
  });
  after(() => backend?.stop());

  const fifo = async (name: string) => {
    const res = await clients.sqs.send(
      new CreateQueueCommand({
        QueueName: `${prefix}-${name}.fifo`,
        Attributes: { FifoQueue: "true", VisibilityTimeout: "30" },
      }),
    );
    assert.ok(res.QueueUrl);
    return { name: `${prefix}-${name}.fifo`, url: res.QueueUrl };
  };

  /** Everything in the queue, deleting it, until a receive comes back empty (1 s long poll). */
  const drain = async (QueueUrl: string): Promise<number[]> => {
    const got: number[] = [];
    for (;;) {
      const res = await clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      const ms: Message[] = res.Messages ?? [];
      if (ms.length === 0) return got;
      got.push(...ms.map((m) => (JSON.parse(m.Body ?? "{}") as { n: number }).n));
      await clients.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl,
          Entries: ms.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  };

  test("25 sends at once take 4 calls (one alone, then batches of ten) and arrive in send order", async () => {
    const { name, url } = await fifo("coalesce");
    const queue = sqsQueue(clients.sqs);
    await queue.send(name, { n: -1 }, "g", "warm"); // resolves the URL; not counted below
    calls.length = 0;
    const n = Array.from({ length: 25 }, (_, i) => i);
    await Promise.all(n.map((i) => queue.send(name, { n: i }, "g", `m${i}`)));
    assert.deepEqual(calls, Array(4).fill("SendMessageBatchCommand"));
    assert.deepEqual(await drain(url), [-1, ...n]);
  });

  test("a message SQS refuses fails its own sender; every send that resolved is in the queue", async () => {
    const { name, url } = await fifo("refused");
    const queue = sqsQueue(clients.sqs);
    await queue.send(name, { n: -1 }, "g", "warm");
    // No deduplication id on a queue without content-based deduplication: refused. The embedded
    // emulator refuses that entry alone, LocalStack the whole call; either way the others'
    // senders must learn whether theirs was stored.
    const outcomes = await Promise.allSettled(
      [0, 1, 2, 3].map((i) => queue.send(name, { n: i }, "g", i === 2 ? "" : `m${i}`)),
    );
    const refused = outcomes[2];
    assert.equal(refused?.status, "rejected");
    assert.match(String((refused as PromiseRejectedResult).reason), /DeduplicationId/);
    const stored = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [i] : []));
    assert.deepEqual(await drain(url), [-1, ...stored]);
    assert.ok(stored.includes(0), "the first send, alone in its call, is stored");
  });
});
