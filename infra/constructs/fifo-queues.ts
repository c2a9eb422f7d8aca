/**
 * A gateway's FIFO queues (core/names.ts names), each with a FIFO dead-letter queue: explicit
 * deduplication ids (the message id, never content-based), SSE-SQS, TLS only, 14 days retention
 * so nothing expires before the delivery function's own retry deadline. The visibility timeout
 * is six times the consuming function's timeout, as Lambda recommends for SQS event sources
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-queueconfig):
 * a message is never visible again while an invocation may still be working on it. The retry
 * delay is not the visibility timeout's business (`queues.*`, `delivery`: the delivery code's).
 * Queues are not retained, so their fixed names cannot block a retry after a rollback.
 */
import { Duration } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { LINE_REDRIVE_RECEIVES } from "../../core/config-delivery.ts";
import type { GatewayResources, QueueRole } from "../../core/names.ts";

export interface FifoQueue {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
}

export class FifoQueues extends Construct {
  readonly queues: Partial<Record<QueueRole, FifoQueue>> = {};

  constructor(
    scope: Construct,
    id: string,
    names: GatewayResources,
    roles: readonly QueueRole[],
    functionTimeout: Duration,
  ) {
    super(scope, id);
    const fifo = (cid: string, queueName: string, extra: sqs.QueueProps = {}) =>
      new sqs.Queue(this, cid, {
        queueName,
        fifo: true,
        contentBasedDeduplication: false,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        ...extra,
      });
    for (const role of roles) {
      const deadLetterQueue = fifo(`${role}-dlq`, names.deadLetterQueues[role]);
      const queue = fifo(role, names.queues[role], {
        visibilityTimeout: Duration.seconds(visibilityFor(functionTimeout)),
        deadLetterQueue: {
          queue: deadLetterQueue,
          // SQS's redrive counts receives, not failures; the functions dead-letter a job after
          // `queues.maxReceiveCount` failures of its own, logged (core/dead-letter.ts). This is the
          // backstop: see LINE_REDRIVE_RECEIVES.
          // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
          maxReceiveCount: LINE_REDRIVE_RECEIVES,
        },
      });
      this.queues[role] = { queue, deadLetterQueue };
    }
  }
}

/** At least 6x the function timeout; SQS allows up to 12 hours. */
export function visibilityFor(functionTimeout: Duration): number {
  return Math.min(6 * functionTimeout.toSeconds(), 43_200);
}
