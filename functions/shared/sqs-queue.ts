/** JobQueue over SQS (FIFO queues, and the standard retry queue), resolving names to URLs once per process. */
import {
  ChangeMessageVisibilityCommand,
  GetQueueUrlCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { JobQueue } from "../../core/ports.ts";

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
  return {
    async send(queueName, body, groupId, deduplicationId) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: await resolve(queueName),
          MessageBody: JSON.stringify(body),
          MessageGroupId: groupId,
          MessageDeduplicationId: deduplicationId,
        }),
      );
    },
    async sendBatch(queueName, jobs) {
      const url = await resolve(queueName);
      let sent = 0;
      // SendMessageBatch takes at most ten entries; each call waits for the one before, so the
      // queue holds them in this order
      // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html).
      for (let start = 0; start < jobs.length; start += 10) {
        const chunk = jobs.slice(start, start + 10);
        const res = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: chunk.map((job, i) => ({
              Id: String(i),
              MessageBody: JSON.stringify(job.body),
              MessageGroupId: job.groupId,
              MessageDeduplicationId: job.deduplicationId,
            })),
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
