/** JobQueue over SQS FIFO queues, resolving names to URLs once per process. */
import { GetQueueUrlCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
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
  };
}
