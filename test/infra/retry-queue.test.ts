/**
 * The retry line on AWS (infra/constructs/retry-queue.ts): every gateway that delivers has the
 * standard queue `<prefix>-<gw>-retry` its functions schedule deferred recipients into
 * (core/retry.ts); the delivery function (else the push function) consumes it as a second event
 * source and may send to it and to the lines it puts due jobs back into; the redrive policies
 * do not dead-letter a line waiting out an unreachable next hop.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Template } from "aws-cdk-lib/assertions";
import { gatewayCapabilities } from "../../core/capabilities.ts";
import type { ConfigInput } from "../../core/config.ts";
import { LINE_REDRIVE_RECEIVES } from "../../core/config-delivery.ts";
import { gatewayResources } from "../../core/names.ts";
import { REPO_ROOT } from "../../infra/config.ts";
import {
  actions,
  type CfnResource,
  deployOf,
  LAYOUTS,
  resources,
  resourcesOf,
  roleStatements,
  synthConfig,
  synthExample,
} from "./helpers.ts";

const props = (r: CfnResource) => r.Properties ?? {};

/** Logical id of the queue named `name`. */
function queueId(t: Template, name: string): string | undefined {
  return resourcesOf(t).find(
    ([, r]) => r.Type === "AWS::SQS::Queue" && props(r).QueueName === name,
  )?.[0];
}

/** Logical id of the function named `name`, and the queues its event sources read. */
function consumer(t: Template, name: string): { id: string; sources: string[] } | undefined {
  const id = resourcesOf(t).find(
    ([, r]) => r.Type === "AWS::Lambda::Function" && props(r).FunctionName === name,
  )?.[0];
  if (!id) return undefined;
  const sources = resourcesOf(t)
    .filter(
      ([, r]) =>
        r.Type === "AWS::Lambda::EventSourceMapping" &&
        (props(r).FunctionName as { Ref: string }).Ref === id,
    )
    .map(([, r]) => (props(r).EventSourceArn as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0]);
  return { id, sources };
}

/** The queues (logical ids) a role may send to. */
function sendsTo(t: Template, rolePrefix: string): string[] {
  return roleStatements(t, rolePrefix)
    .filter((s) => actions(s).includes("sqs:SendMessage"))
    .flatMap(resources)
    .map((r) => r.replace(/^<(.*)>$/, "$1"))
    .sort();
}

function redrive(t: Template, queue: string): { maxReceiveCount: number; target: string } {
  const [, r] = resourcesOf(t).find(([id]) => id === queue) as [string, CfnResource];
  const p = props(r).RedrivePolicy as {
    maxReceiveCount: number;
    deadLetterTargetArn: { "Fn::GetAtt": [string] };
  };
  return { maxReceiveCount: p.maxReceiveCount, target: p.deadLetterTargetArn["Fn::GetAtt"][0] };
}

for (const layout of LAYOUTS) {
  test(`${layout}: every gateway that delivers has its retry line; the delivery function consumes it and may send to it`, () => {
    const { gateways, deploy } = synthExample(layout);
    const { prefix, queues } = deploy.config;
    let checked = 0;
    for (const gw of deploy.config.gateways) {
      const t = gateways.get(gw.id) as Template;
      const names = gatewayResources(prefix, gw.id);
      const retry = queueId(t, names.retryQueue);
      if (!gatewayCapabilities(gw).sends) {
        assert.equal(retry, undefined, `${gw.id} delivers nothing (no push postoffice either)`);
        continue;
      }
      checked += 1;
      assert.ok(retry, `${gw.id}: no queue ${names.retryQueue}`);
      t.hasResourceProperties("AWS::SQS::Queue", {
        QueueName: names.retryQueue,
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
        VisibilityTimeout: 6 * deploy.aws.functions.timeoutSeconds,
      });
      // Its receives are never held: redrive after maxReceiveCount, into its own standard DLQ.
      const r = redrive(t, retry);
      assert.equal(r.maxReceiveCount, queues.maxReceiveCount, gw.id);
      assert.equal(
        resourcesOf(t).find(([id]) => id === r.target)?.[1].Properties?.QueueName,
        `${names.retryQueue}-dlq`,
      );
      const deliver = consumer(t, `${prefix}-${gw.id}-deliver`);
      assert.ok(deliver, gw.id);
      const line = queueId(t, names.queues.deliver) as string;
      assert.deepEqual(deliver.sources.sort(), [line, retry].sort(), gw.id);
      const sends = sendsTo(t, "DeliverRole");
      for (const q of [retry, line, queueId(t, names.deadLetterQueues.deliver) as string])
        assert.ok(sends.includes(q), `${gw.id}: DeliverRole may not send to ${q}: ${sends}`);
      // The line-hold receives the head again and again, a failing record of a batch the
      // records behind it: only SQS's maximum as the backstop, on every line.
      assert.equal(redrive(t, line).maxReceiveCount, LINE_REDRIVE_RECEIVES);
      assert.equal(
        redrive(t, queueId(t, names.queues.route) as string).maxReceiveCount,
        LINE_REDRIVE_RECEIVES,
      );
    }
    assert.ok(checked > 0, "no gateway that delivers");
  });
}

/** examples/<name>.json with SALES pushed to its own server. */
function withSalesPushed(example: string): ReadonlyMap<string, Template> {
  const raw = JSON.parse(
    readFileSync(join(REPO_ROOT, "examples", `${example}.json`), "utf8"),
  ) as ConfigInput;
  const sales = raw.postoffices.find((p) => p.id === "SALES");
  Object.assign(sales as object, { inbound: { deliver: "smtp://mail.sales.company.example:587" } });
  return synthConfig(deployOf(raw)).gateways;
}

describe("push", () => {
  test("a receive gateway with a pushed postoffice: the push function consumes the retry line", () => {
    const t = withSalesPushed("dedicated").get("RECV") as Template;
    const names = gatewayResources("example-dedicated", "RECV");
    const retry = queueId(t, names.retryQueue);
    assert.ok(retry);
    const push = consumer(t, "example-dedicated-RECV-push");
    assert.ok(push);
    const line = queueId(t, names.queues.push) as string;
    assert.deepEqual(push.sources.sort(), [line, retry].sort());
    const dlq = queueId(t, names.deadLetterQueues.push) as string;
    assert.equal(redrive(t, line).maxReceiveCount, LINE_REDRIVE_RECEIVES);
    for (const q of [retry, line, dlq]) assert.ok(sendsTo(t, "PostofficesPushRole").includes(q));
  });

  test("a gateway with both: the delivery function consumes it, push only schedules into it", () => {
    const t = withSalesPushed("single").get("GW1") as Template;
    const names = gatewayResources("example-single", "GW1");
    const retry = queueId(t, names.retryQueue) as string;
    const push = consumer(t, "example-single-GW1-push");
    assert.deepEqual(push?.sources, [queueId(t, names.queues.push)]);
    assert.ok(consumer(t, "example-single-GW1-deliver")?.sources.includes(retry));
    assert.ok(sendsTo(t, "PostofficesPushRole").includes(retry));
    // Due push jobs go back to the push line, dead letters of push retries to its DLQ.
    const deliverSends = sendsTo(t, "DeliverRole");
    for (const q of [names.queues.push, names.deadLetterQueues.push])
      assert.ok(deliverSends.includes(queueId(t, q) as string), q);
  });
});
