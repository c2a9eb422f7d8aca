/**
 * The stacks of one layout (examples/multiple.json: the directory, EAST and WEST), stripped by
 * infra/localstack-transform.ts, deployed to LocalStack's CloudFormation: CREATE_COMPLETE, then
 * deleted, then created again, as a retry after a rolled-back first deploy must be (retained
 * buckets and log groups with fixed names made the second create fail). Needs a LocalStack with
 * CloudFormation (AWS_ENDPOINT_URL; `.ci/run` starts one); a unique prefix per run.
 *
 *   LOCALSTACK_SERVICES=cloudformation,s3,sqs,sns,iam,sts,logs,lambda,ec2,cloudwatch bash localstack/start.sh
 *   AWS_ENDPOINT_URL=http://127.0.0.1:4566 node --test test/deploy/localstack.test.ts
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
} from "@aws-sdk/client-cloudformation";
import { App } from "aws-cdk-lib";
import { clientOptions } from "../../functions/shared/aws.ts";
import { REPO_ROOT } from "../../infra/config.ts";
import { defineLayout } from "../../infra/layout.ts";
import { type CfnTemplate, stripForLocalStack } from "../../infra/localstack-transform.ts";
import { uniquePrefix } from "../helpers/network.ts";
import { deployOf } from "../infra/helpers.ts";

const endpoint = process.env.AWS_ENDPOINT_URL;
assert.ok(endpoint, "AWS_ENDPOINT_URL must name a LocalStack with CloudFormation");
const cfn = new CloudFormationClient(
  clientOptions({ endpoint, region: process.env.AWS_REGION ?? "us-east-1" }),
);

/** The layout's stacks in deploy order, stripped. */
function stripped(): { name: string; template: CfnTemplate }[] {
  const raw = JSON.parse(readFileSync(join(REPO_ROOT, "examples", "multiple.json"), "utf8"));
  raw.prefix = uniquePrefix();
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const layout = defineLayout(app, deployOf(raw), { nag: false });
  const assembly = app.synth();
  const stacks = [layout.directory, ...layout.gateways.values()];
  return stacks.map((s) => ({
    name: s.stackName,
    template: stripForLocalStack(assembly.getStackByName(s.stackName).template as CfnTemplate),
  }));
}

async function waitFor(name: string, want: string): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: name })).catch((err) => {
      // A deleted stack is gone from DescribeStacks by name.
      if (want === "DELETE_COMPLETE" && /does not exist/.test(String(err))) return undefined;
      throw err;
    });
    const stack = out?.Stacks?.[0];
    const status = stack?.StackStatus ?? "DELETE_COMPLETE";
    if (status === want) return status;
    if (/FAILED|ROLLBACK_COMPLETE|ROLLBACK_IN_PROGRESS/.test(status))
      return `${status}: ${stack?.StackStatusReason ?? ""}`;
    await sleep(1000);
  }
  return "timeout";
}

async function createAll(stacks: { name: string; template: CfnTemplate }[]): Promise<void> {
  for (const { name, template } of stacks) {
    await cfn.send(
      new CreateStackCommand({
        StackName: name,
        TemplateBody: JSON.stringify(template),
        Capabilities: ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
      }),
    );
    assert.equal(await waitFor(name, "CREATE_COMPLETE"), "CREATE_COMPLETE", name);
  }
}

async function deleteAll(stacks: { name: string }[]): Promise<void> {
  for (const { name } of [...stacks].reverse()) {
    await cfn.send(new DeleteStackCommand({ StackName: name }));
    assert.equal(await waitFor(name, "DELETE_COMPLETE"), "DELETE_COMPLETE", name);
  }
}

test("control: a retained log group with a fixed name makes the create after a delete fail", async () => {
  // What the stacks did before (issue 10): the same create → delete → create goes red.
  const name = `Mailbag-${uniquePrefix()}-control`;
  const template = {
    Resources: {
      Logs: {
        Type: "AWS::Logs::LogGroup",
        Properties: { LogGroupName: `/aws/lambda/${name}` },
        DeletionPolicy: "Retain",
        UpdateReplacePolicy: "Retain",
      },
    },
  };
  const create = () =>
    cfn.send(new CreateStackCommand({ StackName: name, TemplateBody: JSON.stringify(template) }));
  await create();
  assert.equal(await waitFor(name, "CREATE_COMPLETE"), "CREATE_COMPLETE");
  await deleteAll([{ name }]);
  await create();
  assert.match(await waitFor(name, "CREATE_COMPLETE"), /FAILED|ROLLBACK/);
  await deleteAll([{ name }]);
});

test("LocalStack: the stripped stacks of the multiple layout create, delete and create again", async (t) => {
  const stacks = stripped();
  assert.equal(stacks.length, 3);
  await createAll(stacks);
  for (const { name } of stacks) {
    const listed = await cfn.send(new ListStackResourcesCommand({ StackName: name }));
    const types = new Set(listed.StackResourceSummaries?.map((r) => r.ResourceType));
    t.diagnostic(`${name}: ${listed.StackResourceSummaries?.length} resources created`);
    assert.ok(types.has("AWS::S3::Bucket"), name);
    if (!name.endsWith("-directory")) {
      for (const type of [
        "AWS::SQS::Queue",
        "AWS::IAM::Role",
        "AWS::Logs::LogGroup",
        "AWS::SNS::Topic",
        "AWS::CloudWatch::Alarm",
        "AWS::EC2::EIP",
      ])
        assert.ok(types.has(type), `${name}: no ${type}`);
      // The retry line of deferred recipients (infra/constructs/retry-queue.ts), and its DLQ.
      const queues = (listed.StackResourceSummaries ?? [])
        .filter((r) => r.ResourceType === "AWS::SQS::Queue")
        .map((r) => r.PhysicalResourceId ?? "");
      const gw = name.split("-").pop()?.toLowerCase();
      for (const suffix of ["retry", "retry-dlq"])
        assert.ok(
          queues.some((q) => q.endsWith(`-${gw}-${suffix}`)),
          `${name}: no ${suffix} queue in ${queues}`,
        );
    }
  }
  await deleteAll(stacks);
  // The retry: everything retained by the deletion (buckets, log groups) is in nobody's way.
  await createAll(stacks);
  await deleteAll(stacks);
});
