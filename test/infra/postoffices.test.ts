/**
 * The postoffice exchange on AWS (infra/constructs/postoffice-exchange.ts): push queue and
 * function where a postoffice is pushed to, per pickup postoffice a managed policy reaching its
 * own mailbags only and a notification queue fed by S3, the outbound mailbag intake.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import type { ConfigInput } from "../../core/config.ts";
import { gatewayResources, intakeQueue, pickupQueue } from "../../core/names.ts";
import { REPO_ROOT } from "../../infra/config.ts";
import { defineLayout } from "../../infra/layout.ts";
import { deployOf, describeResource, roleStatements, type Statement } from "./helpers.ts";

/** An example layout with SALES pushed to its own server; cdk-nag runs (synth throws on a finding). */
function synth(
  example: string,
  change: (c: ConfigInput) => void = () => {},
): Map<string, Template> {
  const raw = JSON.parse(readFileSync(join(REPO_ROOT, "examples", `${example}.json`), "utf8"));
  change(raw);
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const layout = defineLayout(app, deployOf(raw));
  app.synth();
  return new Map([...layout.gateways].map(([id, stack]) => [id, Template.fromStack(stack)]));
}

const salesPushed = (c: ConfigInput) => {
  const sales = c.postoffices.find((p) => p.id === "SALES");
  Object.assign(sales as object, { inbound: { deliver: "smtp://mail.sales.company.example:25" } });
};

const single = synth("single", salesPushed);
const gw1 = single.get("GW1") as Template;
const dedicated = synth("dedicated");

/** The statements of each postoffice policy of a template, by policy name. */
function pickupPolicies(t: Template): Map<string, Statement[]> {
  return new Map(
    Object.values(t.findResources("AWS::IAM::ManagedPolicy")).map((r) => {
      const p = (
        r as {
          Properties: { ManagedPolicyName: string; PolicyDocument: { Statement: Statement[] } };
        }
      ).Properties;
      return [p.ManagedPolicyName, p.PolicyDocument.Statement];
    }),
  );
}

/** Every resource and s3:prefix condition of a statement, as text. */
function reach(s: Statement): string[] {
  const res = (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map(describeResource);
  const cond = (s as { Condition?: { StringLike?: { "s3:prefix"?: string[] } } }).Condition;
  return [...res, ...(cond?.StringLike?.["s3:prefix"] ?? [])];
}

describe("pickup postoffices", () => {
  test("one managed policy per postoffice; the pushed one may only submit", () => {
    const policies = pickupPolicies(gw1);
    assert.deepEqual([...policies.keys()].sort(), [
      "example-single-po-eng-gw1",
      "example-single-po-hq-gw1",
      "example-single-po-sales-gw1",
    ]);
    const actions = (name: string) => (policies.get(name) ?? []).flatMap((s) => [s.Action].flat());
    for (const a of ["s3:GetObject", "s3:DeleteObject", "s3:PutObject", "s3:ListBucket"])
      assert.ok(actions("example-single-po-hq-gw1").includes(a), `HQ lacks ${a}`);
    assert.deepEqual(actions("example-single-po-sales-gw1"), [
      "s3:PutObject",
      "s3:AbortMultipartUpload",
    ]);
  });

  for (const [layout, templates] of [
    ["single", single],
    ["dedicated", dedicated],
  ] as const) {
    test(`${layout}: no postoffice's policy reaches another postoffice's prefixes or the spool`, () => {
      let checked = 0;
      for (const t of templates.values()) {
        for (const [name, statements] of pickupPolicies(t)) {
          const po = /-po-([a-z0-9]+)-[a-z0-9]+$/.exec(name)?.[1]?.toUpperCase() ?? "";
          assert.ok(po && statements.length >= 1, name);
          for (const s of statements) {
            for (const r of reach(s)) {
              checked++;
              assert.doesNotMatch(r, /messages\//, `${name} reaches the spool: ${r}`);
              assert.notEqual(r, "*", name);
              const prefix = /\/?((?:in|out)bound\/[^/]*)/.exec(r)?.[1];
              if (prefix !== undefined) {
                assert.ok(
                  prefix === `inbound/${po}` || prefix === `outbound/${po}`,
                  `${name} reaches ${r}`,
                );
              } else {
                // Not an object ARN: the bucket itself (ListBucket, prefix-conditioned) or its queue.
                const listOnly = [s.Action].flat().every((a) => a === "s3:ListBucket");
                const sqsOnly = [s.Action].flat().every((a) => String(a).startsWith("sqs:"));
                assert.ok(listOnly || sqsOnly, `${name}: ${[s.Action].flat()} on ${r}`);
              }
            }
          }
          const actions = statements.flatMap((s) => [s.Action].flat());
          assert.ok(!actions.some((a) => String(a).includes("*")), `${name}: wildcard action`);
        }
      }
      assert.ok(checked > 0, "some policies checked");
    });
  }

  test("ListBucket only under the postoffice's own inbound prefix", () => {
    const hq = pickupPolicies(gw1).get("example-single-po-hq-gw1") ?? [];
    const list = hq.filter((s) => [s.Action].flat().includes("s3:ListBucket"));
    assert.equal(list.length, 1);
    assert.deepEqual((list[0] as { Condition?: unknown }).Condition, {
      StringLike: { "s3:prefix": ["inbound/HQ/*"] },
    });
  });

  test("a notification queue per pickup postoffice, fed by S3 for its inbound prefix", () => {
    for (const po of ["HQ", "ENG"]) {
      gw1.hasResourceProperties("AWS::SQS::Queue", {
        QueueName: pickupQueue("example-single", po),
      });
    }
    gw1.hasResourceProperties("AWS::S3::Bucket", {
      NotificationConfiguration: {
        QueueConfigurations: Match.arrayWith([
          Match.objectLike({
            Event: "s3:ObjectCreated:*",
            Filter: {
              S3Key: {
                Rules: [
                  { Name: "prefix", Value: "inbound/HQ/" },
                  { Name: "suffix", Value: ".eml" },
                ],
              },
            },
          }),
        ]),
      },
    });
    const configs = Object.values(gw1.findResources("AWS::S3::Bucket"))[0] as {
      Properties: { NotificationConfiguration: { QueueConfigurations: unknown[] } };
    };
    // HQ and ENG (pickup) and the intake; SALES is pushed: no notification for it.
    assert.equal(configs.Properties.NotificationConfiguration.QueueConfigurations.length, 3);
    assert.doesNotMatch(JSON.stringify(configs), /inbound\/SALES/);
  });

  test("dedicated layout: the receive gateway's policy fetches, the send gateway's submits", () => {
    const actionsOf = (t: Template) =>
      [...pickupPolicies(t).values()].flat().flatMap((s) => [s.Action].flat());
    const recv = actionsOf(dedicated.get("RECV") as Template);
    const send = actionsOf(dedicated.get("SEND") as Template);
    assert.ok(recv.includes("s3:GetObject") && !recv.includes("s3:PutObject"), recv.join());
    assert.ok(send.includes("s3:PutObject") && !send.includes("s3:GetObject"), send.join());
  });
});

describe("push", () => {
  test("a push FIFO queue and a function reading and removing only SALES's inbound mailbag", () => {
    const names = gatewayResources("example-single", "GW1");
    gw1.hasResourceProperties("AWS::SQS::Queue", { QueueName: names.queues.push, FifoQueue: true });
    gw1.hasResourceProperties("AWS::Lambda::Function", { FunctionName: "example-single-GW1-push" });
    const s = roleStatements(gw1, "PostofficesPushRole");
    const on = (a: string) => s.filter((x) => [x.Action].flat().includes(a)).flatMap(reach);
    // Its own postoffices' inbound mailbag; under messages/ only the accept path of reports
    // (bounces) and their clean-up after a failed accept, and the push status records.
    assert.deepEqual(on("s3:DeleteObject").sort(), [
      "<MailbagBucketC35588E8>/inbound/SALES/*",
      "<MailbagBucketC35588E8>/messages/*",
    ]);
    assert.deepEqual(on("s3:PutObject"), ["<MailbagBucketC35588E8>/messages/*"]);
    const router = roleStatements(gw1, "RouterRole");
    const sends = router
      .filter((x) => [x.Action].flat().includes("sqs:SendMessage"))
      .flatMap(reach);
    assert.ok(
      sends.some((r) => r.startsWith("<PostofficesPushQueuespush")),
      sends.join(),
    );
  });

  test("no push queue where no postoffice is pushed", () => {
    const recv = dedicated.get("RECV") as Template;
    assert.equal(
      Object.keys(
        recv.findResources("AWS::SQS::Queue", {
          Properties: { QueueName: Match.stringLikeRegexp("push") },
        }),
      ).length,
      0,
    );
  });
});

describe("outbound mailbag intake", () => {
  test("where the gateway sends: S3 notifications for outbound/ → intake queue → intake function", () => {
    const send = dedicated.get("SEND") as Template;
    send.hasResourceProperties("AWS::SQS::Queue", {
      QueueName: intakeQueue("example-dedicated", "SEND"),
    });
    send.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: "example-dedicated-SEND-intake",
    });
    send.hasResourceProperties("AWS::S3::Bucket", {
      NotificationConfiguration: {
        QueueConfigurations: [
          Match.objectLike({
            Filter: {
              S3Key: {
                Rules: [
                  { Name: "prefix", Value: "outbound/" },
                  { Name: "suffix", Value: ".eml" },
                ],
              },
            },
          }),
        ],
      },
    });
    const recv = dedicated.get("RECV") as Template;
    assert.equal(
      Object.keys(
        recv.findResources("AWS::Lambda::Function", {
          Properties: { FunctionName: Match.stringLikeRegexp("intake") },
        }),
      ).length,
      0,
    );
  });

  test("S3 may send to the notification queues from this account only", () => {
    const policies = Object.values(gw1.findResources("AWS::SQS::QueuePolicy")).map((p) =>
      JSON.stringify(p),
    );
    const fromS3 = policies.filter((p) => p.includes("s3.amazonaws.com"));
    assert.equal(fromS3.length, 3);
    for (const p of fromS3) assert.match(p, /"aws:SourceAccount":\{"Ref":"AWS::AccountId"\}/);
  });
});
