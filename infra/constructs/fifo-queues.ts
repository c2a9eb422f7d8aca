/**
 * A gateway's FIFO queues (core/names.ts names), each with a FIFO dead-letter queue: explicit
 * deduplication ids (the message id, never content-based), SSE-SQS, TLS only, 14 days retention
 * so nothing expires before the delivery function's own retry deadline.
 */
import { Duration } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { Config } from "../../core/config.ts";
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
    settings: Config["queues"],
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
        visibilityTimeout: Duration.seconds(settings.visibilityTimeoutSeconds),
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
      });
      this.queues[role] = { queue, deadLetterQueue };
    }
  }
}
