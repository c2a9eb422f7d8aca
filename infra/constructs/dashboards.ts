/**
 * CloudWatch dashboards: one per gateway stack and one overview for the whole network.
 * Throughput, refusals by reason, end-to-end latency (the gateway's own metrics, written in the
 * embedded metric format: core/metrics.ts), queue depth and age of the oldest message (SQS's
 * metrics), function errors and throttles. Everything is addressed by name (core/names.ts, the
 * functions' `<prefix>-<gateway>-<role>`), so the overview needs no cross-stack references.
 * The alarms on the same metrics are GatewayAlarms'.
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { Construct } from "constructs";
import { gatewayCapabilities } from "../../core/capabilities.ts";
import type { Config, Gateway } from "../../core/config.ts";
import { METRICS_NAMESPACE, type MetricName } from "../../core/metrics.ts";
import { gatewayResources } from "../../core/names.ts";

const PERIOD = Duration.minutes(5);

const mailbag = (gateway: string, name: MetricName, statistic = "Sum", label?: string) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { Gateway: gateway },
    statistic,
    period: PERIOD,
    label: label ?? name,
  });

const sqs = (queueName: string, metricName: string, statistic: string, label: string) =>
  new cloudwatch.Metric({
    namespace: "AWS/SQS",
    metricName,
    dimensionsMap: { QueueName: queueName },
    statistic,
    period: Duration.minutes(1),
    label,
  });

const lambdaMetric = (functionName: string, metricName: string) =>
  new cloudwatch.Metric({
    namespace: "AWS/Lambda",
    metricName,
    dimensionsMap: { FunctionName: functionName },
    statistic: "Sum",
    period: PERIOD,
    label: `${functionName} ${metricName}`,
  });

/** The queues a gateway has, by its mode, as [label, SQS name]. */
function queuesOf(config: Config, gw: Gateway): [string, string][] {
  const names = gatewayResources(config.prefix, gw.id);
  // The FIFO queues of the gateway stack (the push queue belongs to the postoffice exchange).
  const roles = gatewayCapabilities(gw).queues.filter((r) => r !== "push");
  return roles.flatMap((role): [string, string][] => [
    [`${gw.id} ${role}`, names.queues[role]],
    [`${gw.id} ${role} DLQ`, names.deadLetterQueues[role]],
  ]);
}

function functionsOf(config: Config, gw: Gateway): string[] {
  // Each queue of the stack has its function, named after the queue's role.
  const roles = gatewayCapabilities(gw).queues.filter((r) => r !== "push");
  return roles.map((role) => `${config.prefix}-${gw.id}-${role}`);
}

/** The rows of widgets for these gateways: one line per gateway (and per queue) in each graph. */
export function networkWidgets(
  config: Config,
  gateways: readonly Gateway[],
): cloudwatch.IWidget[][] {
  const w = 12;
  const h = 6;
  const flow: MetricName[] = ["Accepted", "Routed", "Delivered", "Deferred", "Failed", "Bounced"];
  const queues = gateways.flatMap((gw) => queuesOf(config, gw));
  return [
    [
      new cloudwatch.GraphWidget({
        title: "Throughput (messages / 5 min)",
        width: w,
        height: h,
        left: gateways.flatMap((gw) => flow.map((m) => mailbag(gw.id, m, "Sum", `${gw.id} ${m}`))),
      }),
      new cloudwatch.GraphWidget({
        title: "Refused by reason, dead-lettered",
        width: w,
        height: h,
        left: gateways.map(
          (gw) =>
            new cloudwatch.MathExpression({
              expression: `SEARCH('{${METRICS_NAMESPACE},Gateway,Reason} MetricName="Refused" Gateway="${gw.id}"', 'Sum', 300)`,
              label: `${gw.id} refused:`,
              period: PERIOD,
            }),
        ),
        right: gateways.map((gw) =>
          mailbag(gw.id, "DeadLettered", "Sum", `${gw.id} dead-lettered`),
        ),
      }),
    ],
    [
      new cloudwatch.GraphWidget({
        title: "End-to-end latency (accepted → 250 at the next hop)",
        width: w,
        height: h,
        left: gateways.flatMap((gw) =>
          ["p50", "p90", "p99"].map((p) => mailbag(gw.id, "EndToEndLatency", p, `${gw.id} ${p}`)),
        ),
      }),
      new cloudwatch.GraphWidget({
        title: "Function errors and throttles",
        width: w,
        height: h,
        left: gateways.flatMap((gw) =>
          functionsOf(config, gw).flatMap((fn) => [
            lambdaMetric(fn, "Errors"),
            lambdaMetric(fn, "Throttles"),
          ]),
        ),
      }),
    ],
    [
      new cloudwatch.GraphWidget({
        title: "Queue depth (waiting + in flight)",
        width: w,
        height: h,
        left: queues.flatMap(([label, name]) => [
          sqs(name, "ApproximateNumberOfMessagesVisible", "Maximum", `${label} waiting`),
          sqs(name, "ApproximateNumberOfMessagesNotVisible", "Maximum", `${label} in flight`),
        ]),
      }),
      new cloudwatch.GraphWidget({
        title: "Age of the oldest message (s)",
        width: w,
        height: h,
        left: queues.map(([label, name]) =>
          sqs(name, "ApproximateAgeOfOldestMessage", "Maximum", label),
        ),
      }),
    ],
  ];
}

/** A gateway stack's own dashboard: `<prefix>-<gateway>`. */
export class GatewayDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  constructor(scope: Construct, id: string, config: Config, gw: Gateway) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: `${config.prefix}-${gw.id.toLowerCase()}`,
      widgets: networkWidgets(config, [gw]),
    });
  }
}

/** The whole network on one page: `<prefix>-overview`, every gateway side by side. */
export class NetworkDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  constructor(scope: Construct, id: string, config: Config) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: `${config.prefix}-overview`,
      widgets: networkWidgets(config, config.gateways),
    });
  }
}
