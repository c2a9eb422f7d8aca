/**
 * What wakes someone up: a dead-letter queue that is not empty (a message the gateway gave up
 * on), a queue whose oldest message is too old (the single FIFO group is stuck or slow), and an
 * ingress target group with unhealthy tasks. Each alarm notifies the configured SNS topic.
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as sns from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import type { AwsSection } from "../../core/config-aws.ts";
import type { FifoQueue } from "./fifo-queues.ts";

export class GatewayAlarms extends Construct {
  private readonly action: actions.SnsAction | undefined;

  constructor(scope: Construct, id: string, settings: AwsSection["alarms"]) {
    super(scope, id);
    this.action = settings.topicArn
      ? new actions.SnsAction(sns.Topic.fromTopicArn(this, "Topic", settings.topicArn))
      : undefined;
    this.oldestMessageSeconds = settings.oldestMessageSeconds;
  }

  private readonly oldestMessageSeconds: number;

  watchQueue(name: string, { queue, deadLetterQueue }: FifoQueue): void {
    this.alarm(`${name}DeadLetters`, {
      metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: "Maximum",
        period: Duration.minutes(1),
      }),
      threshold: 1,
      description: `${deadLetterQueue.queueName}: messages the gateway gave up on; see docs/deploy.md`,
    });
    this.alarm(`${name}OldestMessage`, {
      metric: queue.metricApproximateAgeOfOldestMessage({
        statistic: "Maximum",
        period: Duration.minutes(1),
      }),
      threshold: this.oldestMessageSeconds,
      evaluationPeriods: 5,
      description: `${queue.queueName}: oldest message older than ${this.oldestMessageSeconds}s`,
    });
  }

  watchTargets(name: string, targetGroup: elbv2.NetworkTargetGroup): void {
    this.alarm(`${name}UnhealthyHosts`, {
      metric: targetGroup.metrics.unHealthyHostCount({
        statistic: "Maximum",
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: 3,
      description: `ingress tasks failing the load balancer's TCP health check (${name})`,
    });
  }

  private alarm(
    id: string,
    props: {
      metric: cloudwatch.IMetric;
      threshold: number;
      description: string;
      evaluationPeriods?: number;
    },
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric: props.metric,
      threshold: props.threshold,
      alarmDescription: props.description,
      evaluationPeriods: props.evaluationPeriods ?? 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (this.action) alarm.addAlarmAction(this.action);
  }
}
