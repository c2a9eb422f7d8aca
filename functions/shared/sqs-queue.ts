/** JobQueue over SQS (FIFO queues, and the standard retry queue), resolving names to URLs once per process. */
import {
  ChangeMessageVisibilityCommand,
  GetQueueUrlCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { JobQueue, QueuedJob } from "../../core/ports.ts";

export function queueUrlResolver(sqs: SQSClient): (name: string) => Promise<string> {
  const urls = new Map<string, Promise<string>>();
  return (name) => {
    let url = urls.get(name);
    if (!url) {
      url = sqs.send(new GetQueueUrlCommand({ QueueName: name })).then((r) => {
        if (!r.QueueUrl) throw new Error(`queue ${name} has no URL`);
        return r.QueueUrl;
      });
      // A failed lookup (backend down) must not be cached.
      url.catch(() => urls.delete(name));
      urls.set(name, url);
    }
    return url;
  };
}

export function sqsQueue(sqs: SQSClient, resolve = queueUrlResolver(sqs)): JobQueue {
  const coalesced = coalescingSender(sqs);
  return {
    async send(queueName, body, groupId, deduplicationId) {
      await coalesced(await resolve(queueName), entryOf({ body, groupId, deduplicationId }));
    },
    async sendBatch(queueName, jobs) {
      const url = await resolve(queueName);
      let sent = 0;
      // SendMessageBatch takes at most ten entries; each call waits for the one before, so the
      // queue holds them in this order
      // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html).
      for (let start = 0; start < jobs.length; start += BATCH_ENTRIES) {
        const chunk = jobs.slice(start, start + BATCH_ENTRIES);
        const res = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: chunk.map((job, i) => ({ Id: String(i), ...entryOf(job) })),
          }),
        );
        const failed = (res.Failed ?? []).map((f) => Number(f.Id));
        if (failed.length > 0) return sent + Math.min(...failed);
        sent += chunk.length;
      }
      return sent;
    },
    async sendDelayed(queueName, body, delaySeconds) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: await resolve(queueName),
          MessageBody: JSON.stringify(body),
          DelaySeconds: Math.max(0, Math.min(900, Math.ceil(delaySeconds))),
        }),
      );
    },
    async postpone(queueName, receiptHandle, seconds) {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: await resolve(queueName),
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: Math.max(0, Math.min(43_200, Math.ceil(seconds))),
        }),
      );
    },
  };
}

type Entry = Omit<SendMessageBatchRequestEntry, "Id">;

/** A FIFO job as a SendMessage(Batch) entry. */
function entryOf(job: QueuedJob): Entry {
  return {
    MessageBody: JSON.stringify(job.body),
    MessageGroupId: job.groupId,
    MessageDeduplicationId: job.deduplicationId,
  };
}
interface Waiting {
  readonly entry: Entry;
  readonly done: (err?: unknown) => void;
}

/** SendMessageBatch takes ten entries and 256 KiB of bodies at most; stay well below. */
const BATCH_ENTRIES = 10;
const BATCH_BYTES = 192 * 1024;

/**
 * Sends single messages, coalescing those sent while a call to the same queue is in flight into
 * one SendMessageBatch
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html).
 * One call per queue at a time: a message sent when the queue's line is idle goes at once (no
 * added wait); under load, the sessions that finished DATA meanwhile share the next call, so
 * the ingress makes one SQS call per up to ten messages instead of one each (issue 13). Each
 * caller still learns its own message's fate: its promise settles when its entry is stored,
 * or rejects if the call failed or SQS refused that entry. Order: the entries of one call are
 * stored in their order, and calls follow each other, so the queue holds messages in the order
 * they were sent, as with one call each.
 */
function coalescingSender(sqs: SQSClient): (url: string, entry: Entry) => Promise<void> {
  const lines = new Map<string, Waiting[]>();
  const drain = async (url: string, waiting: Waiting[]) => {
    while (waiting.length > 0) {
      let bytes = 0;
      let n = 0;
      while (n < waiting.length && n < BATCH_ENTRIES) {
        bytes += Buffer.byteLength((waiting[n] as Waiting).entry.MessageBody ?? "");
        if (n > 0 && bytes > BATCH_BYTES) break;
        n++;
      }
      const batch = waiting.splice(0, n);
      try {
        const res = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: batch.map((w, i) => ({ Id: String(i), ...w.entry })),
          }),
        );
        const refused = new Map((res.Failed ?? []).map((f) => [Number(f.Id), f]));
        batch.forEach((w, i) => {
          const f = refused.get(i);
          w.done(
            f &&
              Object.assign(new Error(`SQS refused the message: ${f.Code}: ${f.Message ?? ""}`), {
                name: f.Code ?? "SendMessageBatchEntryFailed",
              }),
          );
        });
      } catch (err) {
        for (const w of batch) w.done(err);
      }
    }
    lines.delete(url);
  };
  return (url, entry) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: unknown) => (err ? reject(err) : resolve());
      const waiting = lines.get(url);
      if (waiting) return void waiting.push({ entry, done });
      const line = [{ entry, done }];
      lines.set(url, line);
      void drain(url, line);
    });
}
