/**
 * Dashboards and alarms in the templates: a dashboard per gateway stack and an overview in the
 * directory stack, charting the gateway's own EMF metrics, every queue's depth and oldest age,
 * and the functions' errors; alarms on dead-letter depth and oldest age, each with an action.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Template } from "aws-cdk-lib/assertions";
import { METRICS } from "../../core/metrics.ts";
import { gatewayResources } from "../../core/names.ts";
import { synthExample } from "./helpers.ts";

/** The dashboard body of a template's only dashboard, as the JSON text CloudFormation gets. */
function dashboardBody(t: Template): string {
  const all = Object.values(t.findResources("AWS::CloudWatch::Dashboard"));
  assert.equal(all.length, 1, "one dashboard");
  return JSON.stringify(
    (all[0] as { Properties: { DashboardBody: unknown } }).Properties.DashboardBody,
  );
}

describe("dashboards", () => {
  const s = synthExample("dedicated");
  const { config } = s.deploy;

  test("each gateway stack: its metrics, its queues' depth and oldest age, its functions' errors", () => {
    assert.ok(s.gateways.size >= 2);
    for (const [id, t] of s.gateways) {
      const body = dashboardBody(t);
      for (const m of [
        "Accepted",
        "Delivered",
        "Deferred",
        "Bounced",
        "DeadLettered",
        "EndToEndLatency",
      ])
        assert.ok(body.includes(`\\"${m}\\"`), `${id}: ${m}`);
      assert.ok(body.includes("SEARCH('{Mailbag,Gateway,Reason}"), `${id}: refused by reason`);
      const names = gatewayResources(config.prefix, id);
      assert.ok(body.includes(names.queues.route), `${id}: route queue`);
      assert.ok(body.includes(names.deadLetterQueues.route), `${id}: route DLQ`);
      assert.ok(body.includes("ApproximateAgeOfOldestMessage"), `${id}: oldest age`);
      assert.ok(body.includes(`${config.prefix}-${id}-route`), `${id}: router errors`);
      const others = [...s.gateways.keys()].filter((g) => g !== id);
      for (const o of others)
        assert.ok(
          !body.includes(gatewayResources(config.prefix, o).queues.route),
          `${id} not ${o}`,
        );
    }
  });

  test("the overview, in the directory stack: every gateway", () => {
    const body = dashboardBody(s.directory);
    for (const gw of config.gateways) {
      assert.ok(body.includes(gatewayResources(config.prefix, gw.id).queues.route), gw.id);
    }
    for (const m of Object.keys(METRICS).filter((m) => m !== "Refused" && m !== "Failed"))
      assert.ok(body.includes(m), m);
  });
});

describe("alarms", () => {
  test("dead-letter depth > 0 and oldest message age, on every queue, each with an action", () => {
    const s = synthExample("single");
    for (const [id, t] of s.gateways) {
      const alarms = Object.values(t.findResources("AWS::CloudWatch::Alarm")) as {
        Properties: {
          MetricName?: string;
          Dimensions?: { Name: string; Value: unknown }[];
          AlarmActions?: unknown[];
          Threshold: number;
        };
      }[];
      const of = (metric: string) => alarms.filter((a) => a.Properties.MetricName === metric);
      const dlq = of("ApproximateNumberOfMessagesVisible");
      const age = of("ApproximateAgeOfOldestMessage");
      assert.ok(dlq.length >= 2, `${id}: dead-letter alarms ${dlq.length}`);
      assert.ok(age.length >= 2, `${id}: oldest-age alarms ${age.length}`);
      for (const a of [...dlq, ...age]) {
        assert.ok((a.Properties.AlarmActions ?? []).length > 0, `${id}: alarm without action`);
      }
      for (const a of dlq) assert.equal(a.Properties.Threshold, 1, "depth > 0 is >= 1");
    }
  });
});
