/**
 * What wakes someone up, and every alarm has an action: the configured SNS topic
 * (`aws.alarms.topicArn`), or else a topic this construct creates (with `aws.alarms.email`
 * subscribed). Alarms on:
 * - a dead-letter queue that is not empty (a message the gateway gave up on);
 * - a queue whose oldest message is too old (the single FIFO group is stuck or slow);
 * - a function's errors and throttles (a throttled receive still counts toward maxReceiveCount);
 * - ingress targets failing the load balancer's health check;
 * - fewer than one running ingress task: a crash loop leaves no task at all, which the
 *   unhealthy-host count (0 of 0) cannot see. ECS publishes CPUUtilization once a minute per
 *   running task, so its SampleCount is the number of running tasks, and no data means none
 *   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html).
 * Other constructs (dashboards, postoffice queues) add theirs through `alarm()`.
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as ecs from "aws-cdk-lib/aws-ecs";
import type * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";
import type { AwsSection } from "../../core/config-aws.ts";
import { suppress } from "../nag.ts";
import type { FifoQueue } from "./fifo-queues.ts";

export interface AlarmProps {
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly description: string;
  readonly evaluationPeriods?: number;
  readonly comparison?: cloudwatch.ComparisonOperator;
  readonly missingData?: cloudwatch.TreatMissingData;
}

export class GatewayAlarms extends Construct {
  readonly topic: sns.ITopic;
  private readonly action: actions.SnsAction;
  private readonly oldestMessageSeconds: number;

  constructor(scope: Construct, id: string, settings: AwsSection["alarms"]) {
    super(scope, id);
    if (settings.topicArn) {
      this.topic = sns.Topic.fromTopicArn(this, "Topic", settings.topicArn);
    } else {
      const topic = new sns.Topic(this, "Topic", { enforceSSL: true });
      if (settings.email)
        topic.addSubscription(new subscriptions.EmailSubscription(settings.email));
      suppress(topic, {
        "AwsSolutions-SNS2":
          "CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key (aws/sns), and a customer managed key costs $1/month per gateway for alarm texts that hold no mail.",
      });
      this.topic = topic;
    }
    this.action = new actions.SnsAction(this.topic);
    this.oldestMessageSeconds = settings.oldestMessageSeconds;
  }

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

  watchFunction(name: string, fn: lambda.IFunction): void {
    const period = Duration.minutes(1);
    this.alarm(`${name}Errors`, {
      metric: fn.metricErrors({ statistic: "Sum", period }),
      threshold: 1,
      evaluationPeriods: 5,
      description: `${name} function: invocations failed (not a record failure: the whole batch) 5 minutes in a row`,
    });
    this.alarm(`${name}Throttles`, {
      metric: fn.metricThrottles({ statistic: "Sum", period }),
      threshold: 1,
      description: `${name} function throttled: its receives still count toward maxReceiveCount`,
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

  watchService(name: string, service: ecs.FargateService): void {
    this.alarm(`${name}RunningTasks`, {
      metric: service.metricCpuUtilization({
        statistic: "SampleCount",
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: 3,
      comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      // No task, no data point: that is the crash loop this alarm is for.
      missingData: cloudwatch.TreatMissingData.BREACHING,
      description: `${name}: fewer than one running ingress task for 3 minutes (crash loop or stopped service)`,
    });
  }

  alarm(id: string, props: AlarmProps): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric: props.metric,
      threshold: props.threshold,
      alarmDescription: props.description,
      evaluationPeriods: props.evaluationPeriods ?? 1,
      comparisonOperator:
        props.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: props.missingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    return alarm;
  }
}
