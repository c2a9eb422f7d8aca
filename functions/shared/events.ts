/**
 * The things that happen to a mail, by name: one structured log line each (log.ts) carrying the
 * mail id (never the SQS message id), and, where it counts, a metric in CloudWatch's embedded
 * metric format on stdout (core/metrics.ts). Admins grep these names; dashboards chart them.
 *
 * EMF is written where CloudWatch Logs reads it (in Lambda, or with MAILBAG_METRICS=emf);
 * MAILBAG_METRICS=off silences it; locally it is off.
 */
import type { DeliveryStatus } from "../../core/envelope.ts";
import { idTime } from "../../core/ids.ts";
import { emfDocument, type MetricName } from "../../core/metrics.ts";
import { log } from "./log.ts";

export const EVENTS = {
  accepted: "accepted",
  refused: "refused",
  routed: "routed",
  delivered: "delivered",
  deferred: "deferred",
  failed: "failed",
  bounced: "bounced",
  deadLettered: "dead-lettered",
} as const;

function metricsOn(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.MAILBAG_METRICS === "off") return false;
  return env.MAILBAG_METRICS === "emf" || env.AWS_LAMBDA_FUNCTION_NAME !== undefined;
}

export function metric(
  gateway: string,
  values: Partial<Record<MetricName, number>>,
  extra: Readonly<Record<string, string>> = {},
): void {
  if (!metricsOn()) return;
  process.stdout.write(`${JSON.stringify(emfDocument(gateway, values, extra))}\n`);
}

/**
 * One line per recipient whose state this attempt decided (its `at` is this attempt's), named
 * after the outcome: delivered, deferred or failed; delivered ones also measure the latency.
 */
export function deliveryEvents(
  job: {
    id: string;
    gateway: string;
    recipients: readonly string[];
    postoffice?: string | undefined;
  },
  status: DeliveryStatus,
  since: number,
): void {
  const counts: Partial<Record<MetricName, number>> = {};
  for (const rcpt of job.recipients) {
    const s = status.recipients[rcpt];
    if (!s || Date.parse(s.at) < since) continue;
    const event =
      s.state === "delivered"
        ? EVENTS.delivered
        : s.state === "failed"
          ? EVENTS.failed
          : EVENTS.deferred;
    const fields = {
      id: job.id,
      gateway: job.gateway,
      ...(job.postoffice ? { postoffice: job.postoffice } : {}),
      recipient: rcpt,
      attempts: s.attempts,
      reply: s.reply,
    };
    if (s.state === "deferred") log.warn(event, fields);
    else log.info(event, fields);
    const name: MetricName =
      s.state === "delivered" ? "Delivered" : s.state === "failed" ? "Failed" : "Deferred";
    counts[name] = (counts[name] ?? 0) + 1;
    if (s.state === "delivered")
      metric(job.gateway, { EndToEndLatency: Date.parse(s.at) - idTime(job.id) });
  }
  if (Object.keys(counts).length > 0) metric(job.gateway, counts);
}

/** The reason a refusal is counted under: the error catalogue's code, else the SMTP code. */
function reasonOf(err: unknown): string {
  const e = err as { code?: unknown; responseCode?: unknown };
  if (typeof e.code === "string") return e.code;
  if (typeof e.responseCode === "number") return String(e.responseCode);
  return "error";
}

/** A command or a message the ingress refused: `refused`, Refused by Reason. */
export function refusedEvent(
  gateway: string,
  fields: Record<string, unknown>,
  err: unknown,
  describe: (err: unknown) => Record<string, unknown>,
): void {
  log.warn(EVENTS.refused, { gateway, ...fields, ...describe(err) });
  metric(gateway, { Refused: 1 }, { Reason: reasonOf(err) });
}

export function acceptedEvent(gateway: string, fields: Record<string, unknown>): void {
  log.info(EVENTS.accepted, { gateway, ...fields });
  metric(gateway, { Accepted: 1 });
}

/** A delivery status notification sent to the sender (core/dsn: issue 9): `bounced`. */
export function bouncedEvent(
  job: { id: string; gateway: string },
  report: string,
  recipients: readonly string[],
): void {
  log.info(EVENTS.bounced, { id: job.id, gateway: job.gateway, report, to: recipients });
  metric(job.gateway, { Bounced: 1 });
}
