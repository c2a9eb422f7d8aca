/**
 * infra/localstack-transform.ts: what it removes from the real templates (everything LocalStack's
 * free edition cannot create, and whatever refers to it), what it keeps (what a retry must be
 * able to create again), and that it leaves no dangling reference. The deploy itself runs in CI
 * against LocalStack: test/deploy/localstack.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type CfnTemplate,
  stripForLocalStack,
  UNSUPPORTED,
} from "../../infra/localstack-transform.ts";
import { synthExample } from "./helpers.ts";

const PSEUDO = /^AWS::/;

function dangling(t: CfnTemplate): string[] {
  const ids = new Set(Object.keys(t.Resources));
  const bad: string[] = [];
  const walk = (v: unknown, where: string) => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x, where);
    } else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (typeof o.Ref === "string" && !PSEUDO.test(o.Ref) && !ids.has(o.Ref))
        bad.push(`${where}: Ref ${o.Ref}`);
      const g = o["Fn::GetAtt"];
      if (Array.isArray(g) && !ids.has(String(g[0]))) bad.push(`${where}: GetAtt ${g[0]}`);
      for (const x of Object.values(o)) walk(x, where);
    }
  };
  for (const [id, r] of Object.entries(t.Resources)) {
    walk(r.Properties, id);
    for (const d of [r.DependsOn ?? []].flat()) if (!ids.has(d)) bad.push(`${id}: DependsOn ${d}`);
  }
  for (const [id, o] of Object.entries(t.Outputs ?? {})) walk(o, `output ${id}`);
  return bad;
}

for (const layout of ["single", "multiple", "dedicated", "multiple-dedicated"]) {
  describe(`LocalStack transform: ${layout}`, () => {
    const stacks = () => {
      const s = synthExample(layout);
      return [["directory", s.directory] as const, ...s.gateways].map(
        ([id, t]) =>
          [id, t.toJSON() as CfnTemplate, stripForLocalStack(t.toJSON() as CfnTemplate)] as const,
      );
    };

    test("nothing LocalStack cannot create, no dangling reference, no bootstrap check", () => {
      for (const [id, , out] of stacks()) {
        for (const [name, r] of Object.entries(out.Resources))
          assert.ok(!UNSUPPORTED.some((u) => r.Type.startsWith(u)), `${id}/${name}: ${r.Type}`);
        assert.deepEqual(dangling(out), [], id);
        assert.equal(out.Parameters?.BootstrapVersion, undefined);
        assert.equal(out.Rules?.CheckBootstrapVersion, undefined);
      }
    });

    test("keeps what a retry must create again: buckets, queues, roles, log groups, topic, alarms, EIPs", () => {
      for (const [id, before, after] of stacks()) {
        const count = (t: CfnTemplate, type: string) =>
          Object.values(t.Resources).filter((r) => r.Type === type).length;
        for (const type of [
          "AWS::S3::Bucket",
          "AWS::SQS::Queue",
          "AWS::IAM::Role",
          "AWS::Logs::LogGroup",
          "AWS::EC2::EIP",
          "AWS::SNS::Topic",
        ]) {
          if (id === "directory" && type !== "AWS::S3::Bucket") continue;
          assert.ok(count(before, type) > 0, `${id}: ${type} in the template`);
          assert.equal(count(after, type), count(before, type), `${id}: ${type} kept`);
        }
        if (id === "directory") continue;
        // Queue alarms stay; the ones on removed functions, target groups and services go.
        const alarms = count(after, "AWS::CloudWatch::Alarm");
        assert.ok(alarms > 0 && alarms < count(before, "AWS::CloudWatch::Alarm"), id);
      }
    });
  });
}

test("removal follows references (Ref, GetAtt, Sub) transitively; DependsOn on removed ones is dropped", () => {
  const out = stripForLocalStack({
    Resources: {
      Service: { Type: "AWS::ECS::Service" },
      Alarm: {
        Type: "AWS::CloudWatch::Alarm",
        Properties: { D: { "Fn::GetAtt": ["Service", "Name"] } },
      },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax.
      Watcher: { Type: "AWS::SNS::Topic", Properties: { N: { "Fn::Sub": "${Alarm}-x" } } },
      Queue: { Type: "AWS::SQS::Queue", DependsOn: ["Service"] },
      Provider: { Type: "AWS::Lambda::Function" },
      Deploy: {
        Type: "Custom::CDKBucketDeployment",
        Properties: { ServiceToken: { "Fn::GetAtt": ["Provider", "Arn"] } },
      },
    },
    Outputs: { Name: { Value: { Ref: "Service" } }, Q: { Value: { Ref: "Queue" } } },
    Parameters: { BootstrapVersion: { Type: "String" } },
  });
  assert.deepEqual(Object.keys(out.Resources), ["Queue"]);
  assert.equal(out.Resources.Queue?.DependsOn, undefined);
  assert.deepEqual(Object.keys(out.Outputs ?? {}), ["Q"]);
  assert.equal(out.Parameters, undefined);
});
