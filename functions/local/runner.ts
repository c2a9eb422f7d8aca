/**
 * The local stand-in for Lambda's SQS event source mapping: long-polls one FIFO queue, hands
 * each batch to the very same handler as a genuine SQSEvent, deletes what the handler did not
 * report in batchItemFailures, and leaves the rest to reappear after the visibility timeout.
 * FIFO order holds because SQS itself keeps a group locked while one of its messages is in
 * flight (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
 */

import { randomUUID } from "node:crypto";
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { inPart } from "../shared/aws-calls.ts";
import { describeError, log } from "../shared/log.ts";

export type SqsHandler = (
  event: SQSEvent,
  context: Context,
) => Promise<SQSBatchResponse | undefined>;

export interface RunnerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly functionName: string;
  /** What this queue does, for the AWS call counts. */
  readonly role?: string;
  /** Whose function this is, for the AWS call record (aws-calls.ts). */
  readonly gateway?: string;
  readonly handler: SqsHandler;
  /** Lambda's default for SQS is 10. */
  readonly batchSize?: number;
  /** Long-poll wait; short in tests so stop() returns quickly. */
  readonly waitSeconds?: number;
}

export interface Runner {
  /** Finishes the batch in hand, then resolves. */
  stop(): Promise<void>;
  /** Batches and records handed to the handler, and records it reported as failed. */
  readonly stats: { batches: number; records: number; failures: number };
}

export function startRunner(opts: RunnerOptions): Runner {
  const controller = new AbortController();
  const stats = { batches: 0, records: 0, failures: 0 };
  // The role of the queue ("route", "deliver") labels every AWS call of this loop (aws-calls.ts).
  const loop = inPart(
    opts.role ?? "other",
    async () => {
      while (!controller.signal.aborted) {
        try {
          await pollOnce(opts, controller.signal, stats);
        } catch (err) {
          if (controller.signal.aborted) break;
          log.warn("runner-poll-failed", { queue: opts.queueUrl, ...describeError(err) });
          await sleep(1000, controller.signal);
        }
      }
    },
    opts.gateway,
  );
  return {
    stats,
    async stop() {
      controller.abort();
      await loop;
    },
  };
}

async function pollOnce(
  opts: RunnerOptions,
  signal: AbortSignal,
  stats: Runner["stats"],
): Promise<void> {
  const res = await opts.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: opts.queueUrl,
      MaxNumberOfMessages: opts.batchSize ?? 10,
      WaitTimeSeconds: opts.waitSeconds ?? 20,
      MessageSystemAttributeNames: ["All"],
      MessageAttributeNames: ["All"],
    }),
    { abortSignal: signal },
  );
  const messages = res.Messages ?? [];
  if (messages.length === 0) return;
  const records = messages.map((m) => toRecord(m, opts));
  const context = lambdaContext(opts.functionName);
  let failed = new Set<string>(records.map((r) => r.messageId));
  try {
    const response = await opts.handler({ Records: records }, context);
    failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  } catch (err) {
    // A thrown handler fails the whole batch, as on Lambda.
    log.error("handler-threw", { function: opts.functionName, ...describeError(err) });
  }
  stats.batches++;
  stats.records += records.length;
  stats.failures += failed.size;
  const done = messages.filter((m) => m.MessageId && !failed.has(m.MessageId) && m.ReceiptHandle);
  if (done.length > 0) {
    await opts.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: opts.queueUrl,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? "" })),
      }),
    );
  }
}

function toRecord(m: Message, opts: RunnerOptions): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId ?? "",
    receiptHandle: m.ReceiptHandle ?? "",
    body: m.Body ?? "",
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? "1",
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? "local",
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(a.SequenceNumber ? { SequenceNumber: a.SequenceNumber } : {}),
      ...(a.MessageGroupId ? { MessageGroupId: a.MessageGroupId } : {}),
      ...(a.MessageDeduplicationId ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: opts.queueArn,
    awsRegion: opts.region,
  };
}

function lambdaContext(functionName: string): Context {
  const deadline = Date.now() + 900_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: "128",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}
