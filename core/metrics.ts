/**
 * CloudWatch embedded metric format: a log line that CloudWatch Logs turns into metrics, so the
 * gateway publishes metrics without one PutMetricData call
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 * Pure: building the document; functions/shared/events.ts writes it.
 */

export const METRICS_NAMESPACE = "Mailbag";

/** Every metric the gateway writes, with its unit. Dashboards and alarms use these names. */
export const METRICS = {
  Accepted: "Count",
  Refused: "Count",
  Routed: "Count",
  Delivered: "Count",
  Deferred: "Count",
  Failed: "Count",
  Bounced: "Count",
  DeadLettered: "Count",
  /** Acceptance (the ULID's time) to the smart host's or postoffice's 250, per recipient. */
  EndToEndLatency: "Milliseconds",
} as const;
export type MetricName = keyof typeof METRICS;

/**
 * One EMF document: `values` under the dimension set `Gateway` (and, when given, `Gateway` +
 * each extra dimension, e.g. Refused by Reason).
 */
export function emfDocument(
  gateway: string,
  values: Partial<Record<MetricName, number>>,
  extra: Readonly<Record<string, string>> = {},
  at: Date = new Date(),
): Record<string, unknown> {
  const names = Object.keys(values) as MetricName[];
  const extraKeys = Object.keys(extra);
  return {
    _aws: {
      Timestamp: at.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: extraKeys.length > 0 ? [["Gateway", ...extraKeys]] : [["Gateway"]],
          Metrics: names.map((Name) => ({ Name, Unit: METRICS[Name] })),
        },
      ],
    },
    Gateway: gateway,
    ...extra,
    ...values,
  };
}
