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
import type { Config } from "../../core/config.ts";
import { DELIVER_QUEUE_REDRIVE_RECEIVES } from "../../core/config-delivery.ts";
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
        visibilityTimeout: Duration.seconds(visibilityFor(functionTimeout)),
        deadLetterQueue: {
          queue: deadLetterQueue,
          maxReceiveCount: maxReceiveCountOf(role, settings),
        },
      });
      this.queues[role] = { queue, deadLetterQueue };
    }
  }
}

/**
 * SQS's redrive counts receives, not failures
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
 * The router's line never waits, so its receives are its failures: `queues.maxReceiveCount`. A
 * delivery line (deliver, push) waits out an unreachable next hop by receiving its head again
 * and again (the line-hold, functions/shared/middleware.ts holdLines), which must not count: a
 * long outage would dead-letter healthy mail. There the functions dead-letter a job themselves,
 * logged, on a permanent failure or after `queues.maxReceiveCount` receives that failed for any
 * other reason (core/dead-letter.ts), and SQS's redrive is the last resort at its maximum, 1000
 * receives (core/config-delivery.ts keeps the queue lifetime within them). docs/deploy.md.
 */
export function maxReceiveCountOf(role: QueueRole, settings: Config["queues"]): number {
  return role === "route" ? settings.maxReceiveCount : DELIVER_QUEUE_REDRIVE_RECEIVES;
}

/** At least 6x the function timeout; SQS allows up to 12 hours. */
export function visibilityFor(functionTimeout: Duration): number {
  return Math.min(6 * functionTimeout.toSeconds(), 43_200);
}
