/**
 * Creates a gateway's bucket and FIFO queues (with dead-letter queues) on an emulator, the way
 * the CDK stack does on AWS. Idempotent: CreateBucket/CreateQueue on what exists is a no-op.
 */
import { BucketAlreadyOwnedByYou, CreateBucketCommand } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { Config } from "../../core/config.ts";
import { LINE_REDRIVE_RECEIVES } from "../../core/config-delivery.ts";
import { gatewayResources, type QueueRole } from "../../core/names.ts";
import type { AwsClients } from "../shared/aws.ts";

export async function provisionGateway(
  clients: AwsClients,
  config: Config,
  gatewayId: string,
): Promise<void> {
  const names = gatewayResources(config.prefix, gatewayId);
  try {
    await clients.s3.send(new CreateBucketCommand({ Bucket: names.bucket }));
  } catch (err) {
    if (
      !(err instanceof BucketAlreadyOwnedByYou) &&
      (err as { name?: string }).name !== "BucketAlreadyOwnedByYou"
    ) {
      throw err;
    }
  }
  const roles: QueueRole[] = ["route", "deliver", "push"];
  for (const role of roles) {
    const dlq = await createFifo(clients, names.deadLetterQueues[role], {});
    const dlqArn = await queueArn(clients, dlq);
    await createFifo(clients, names.queues[role], {
      VisibilityTimeout: String(config.queues.visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: dlqArn,
        // The handlers dead-letter failing jobs themselves (logged, core/dead-letter.ts); SQS's
        // redrive is the backstop (see LINE_REDRIVE_RECEIVES, as on AWS: fifo-queues.ts).
        maxReceiveCount: LINE_REDRIVE_RECEIVES,
      }),
    });
  }
  // Deferred recipients wait here (per-message delays need a standard queue: core/retry.ts).
  await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: names.retryQueue,
      Attributes: {
        VisibilityTimeout: String(config.queues.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(RETENTION_SECONDS),
      },
    }),
  );
}

/** SQS's longest retention: nothing expires before the delivery queue lifetime (at most 13 days). */
const RETENTION_SECONDS = 14 * 86_400;

async function createFifo(
  clients: AwsClients,
  name: string,
  attributes: Record<string, string>,
): Promise<string> {
  const res = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      // Explicit deduplication ids (the message id), never content-based: two identical messages
      // accepted a second apart are two messages.
      Attributes: {
        FifoQueue: "true",
        ContentBasedDeduplication: "false",
        MessageRetentionPeriod: String(RETENTION_SECONDS),
        ...attributes,
      },
    }),
  );
  if (!res.QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
  return res.QueueUrl;
}

export async function queueArn(clients: AwsClients, url: string): Promise<string> {
  const res = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
  );
  const arn = res.Attributes?.QueueArn;
  if (!arn) throw new Error(`queue ${url} has no ARN`);
  return arn;
}
