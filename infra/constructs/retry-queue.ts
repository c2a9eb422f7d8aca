/**
 * The retry line of a gateway's delivery functions (core/retry.ts, docs/delivery.md): a standard
 * SQS queue, `<prefix>-<gateway>-retry` (core/names.ts), where deferred recipients wait with a
 * per-message delay, which FIFO queues do not have
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-timers.html).
 * Every function that delivers (delivery, push) schedules retries into it; one of them consumes
 * it and puts each due job back at the tail of its FIFO line (a push job, one naming its
 * postoffice, into the push queue), or delays it again.
 *
 * Redrive: receives of the retry line are never held (the line-hold of an unreachable next hop
 * happens in the FIFO lines, where the job is delivered; here a due job is only sent back), so
 * its receive count counts failures only. The consumer dead-letters a job itself, logged, into
 * its line's FIFO dead-letter queue (functions/shared/middleware.ts settleFailure) on the
 * `queues.maxReceiveCount`-th receive; SQS moves a message only on the receive after
 * maxReceiveCount
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html),
 * so its own redrive into a standard dead-letter queue (a standard queue cannot redrive into a
 * FIFO one) at the same count catches only what the function could not settle: a crash or a
 * timeout on that last receive.
 */
import { Duration } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { Config } from "../../core/config.ts";
import { type FifoQueue, visibilityFor } from "./fifo-queues.ts";
import type { GatewayAlarms } from "./gateway-alarms.ts";

export interface RetryQueueProps {
  /** core/names.ts gatewayResources().retryQueue */
  readonly queueName: string;
  readonly functionTimeout: Duration;
  readonly settings: Config["queues"];
  readonly alarms: GatewayAlarms;
}

export class RetryQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: RetryQueueProps) {
    super(scope, id);
    const common = {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    };
    this.deadLetterQueue = new sqs.Queue(this, "DeadLetters", {
      ...common,
      queueName: `${props.queueName}-dlq`,
    });
    this.queue = new sqs.Queue(this, "Queue", {
      ...common,
      queueName: props.queueName,
      visibilityTimeout: Duration.seconds(visibilityFor(props.functionTimeout)),
      deadLetterQueue: {
        queue: this.deadLetterQueue,
        maxReceiveCount: props.settings.maxReceiveCount,
      },
    });
    // Dead letters only: a retry job is old by design (it waits up to 15 minutes per delay).
    props.alarms.alarm("RetryDeadLetters", {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: "Maximum",
        period: Duration.minutes(1),
      }),
      threshold: 1,
      description: `${props.queueName}-dlq: retry jobs the consumer could not settle; see docs/deploy.md`,
    });
  }

  /** `fn` defers recipients: it sends retry jobs here. */
  grantSchedule(fn: lambda.IFunction): void {
    this.queue.grantSendMessages(fn);
  }

  /**
   * `fn` consumes the retry line (its second event source): it puts due jobs back into `lines`,
   * delays the others again, and dead-letters a failing one into its line's dead-letter queue.
   * Its reserved concurrency grows by this source's maximum, so all its pollers stay within it
   * (a throttled batch counts as a receive).
   */
  consumeWith(fn: lambda.Function, lines: readonly FifoQueue[], maxConcurrency: number | null) {
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        ...(maxConcurrency === null ? {} : { maxConcurrency }),
      }),
    );
    const cfn = fn.node.defaultChild as lambda.CfnFunction;
    if (maxConcurrency !== null && typeof cfn.reservedConcurrentExecutions === "number")
      cfn.reservedConcurrentExecutions += maxConcurrency;
    this.grantSchedule(fn);
    for (const line of lines) {
      line.queue.grantSendMessages(fn);
      line.deadLetterQueue.grantSendMessages(fn);
    }
  }
}
