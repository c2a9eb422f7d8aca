/**
 * What made the first `cdk deploy` fail or a retry impossible, asserted on the synthesized
 * templates of every example layout (issue 10): each test names the defect it would have caught.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { SMTP_TIMEOUTS_MS } from "../../functions/shared/smtp-transport.ts";
import { REPO_ROOT } from "../../infra/config.ts";
import { CONTAINER_PORT } from "../../infra/constructs/ingress-service.ts";
import { LINE_BATCH_SIZE } from "../../infra/constructs/queue-function.ts";
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

function all(layout: string): [string, Template][] {
  const s = synthExample(layout);
  return [["directory", s.directory], ...s.gateways];
}

/** An IAM resource pattern (`*` within a key) matches a concrete object key. */
function matches(pattern: string, key: string): boolean {
  const re = pattern.split("*").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${re.join(".*")}$`).test(key);
}

for (const layout of LAYOUTS) {
  describe(`first deploy: ${layout}`, () => {
    test("no ip_unprivileged_port_start: the container listens on 2525, the NLB maps 25/587 to it", () => {
      for (const [id, t] of all(layout)) {
        assert.doesNotMatch(JSON.stringify(t.toJSON()), /ip_unprivileged_port_start/, id);
        if (id === "directory") continue;
        const groups = resourcesOf(t).filter(
          ([, r]) => r.Type === "AWS::ElasticLoadBalancingV2::TargetGroup",
        );
        assert.ok(groups.length > 0, id);
        for (const [, g] of groups) assert.equal(g.Properties?.Port, CONTAINER_PORT, id);
        t.hasResourceProperties("AWS::ECS::TaskDefinition", {
          ContainerDefinitions: [
            Match.objectLike({
              PortMappings: [{ ContainerPort: CONTAINER_PORT, Protocol: "tcp" }],
            }),
          ],
        });
      }
    });

    test("the ingress task role can read the directory object its task definition names", () => {
      for (const [id, t] of all(layout)) {
        if (id === "directory") continue;
        const task = resourcesOf(t).find(([, r]) => r.Type === "AWS::ECS::TaskDefinition")?.[1];
        const containers = task?.Properties?.ContainerDefinitions as
          | { Environment: { Name: string; Value: unknown }[] }[]
          | undefined;
        const env = containers?.[0]?.Environment;
        const url = env?.find((e) => e.Name === "MAILBAG_DIRECTORY")?.Value as {
          "Fn::Join": [string, unknown[]];
        };
        assert.ok(url, `${id}: no MAILBAG_DIRECTORY`);
        const [, [scheme, bucket, key]] = url["Fn::Join"];
        assert.equal(scheme, "s3://");
        const reads = roleStatements(t, "IngressTaskTaskRole")
          .filter((s) => actions(s).includes("s3:GetObject"))
          .flatMap((s) => resources(s));
        const bucketName = (bucket as { "Fn::ImportValue": string })["Fn::ImportValue"];
        const object = `arn:<AWS::Partition>:s3:::<import:${bucketName}>${key as string}`;
        assert.ok(
          reads.some((r) => matches(r, object)),
          `${id}: ${object} not readable by ${JSON.stringify(reads)}`,
        );
      }
    });

    test("every alarm has an action (and an OK action)", () => {
      let alarms = 0;
      for (const [id, t] of all(layout)) {
        for (const [name, r] of resourcesOf(t)) {
          if (r.Type !== "AWS::CloudWatch::Alarm") continue;
          alarms++;
          const actions = r.Properties?.AlarmActions as unknown[] | undefined;
          assert.ok(actions && actions.length > 0, `${id}/${name} has no alarm action`);
        }
      }
      assert.ok(alarms > 0);
    });

    test("no retained resource has a fixed physical name (a retry after rollback can create it again)", () => {
      const NAMES = ["BucketName", "LogGroupName", "TopicName", "RoleName", "Name"];
      let retained = 0;
      for (const [id, t] of all(layout)) {
        for (const [name, r] of resourcesOf(t)) {
          if (r.DeletionPolicy !== "Retain" && r.DeletionPolicy !== "RetainExceptOnCreate")
            continue;
          retained++;
          for (const key of NAMES)
            assert.equal(r.Properties?.[key], undefined, `${id}/${name} (${r.Type}): ${key}`);
        }
      }
      assert.ok(retained >= 2, "the buckets and log groups are retained");
    });

    test("router may write the status records it writes for refused recipients", () => {
      for (const [id, t] of all(layout)) {
        if (id === "directory") continue;
        const puts = roleStatements(t, "RouterRole")
          .filter((s) => actions(s).includes("s3:PutObject"))
          .flatMap(resources);
        // core/names.ts keys.status(id)
        assert.ok(
          puts.some((p) => matches(p, "<MailbagBucketC35588E8>/messages/M1.status.json")),
          `${id}: ${puts}`,
        );
      }
    });

    test("ordered consumers: FIFO lines in batches of ten, other queues one at a time, reserved concurrency >= event source maximum, visibility >= 6x timeout > SMTP timeouts", () => {
      let mappings = 0;
      for (const [id, t] of all(layout)) {
        const res = t.toJSON().Resources as Record<string, CfnResource>;
        for (const [name, r] of Object.entries(res)) {
          if (r.Type !== "AWS::Lambda::EventSourceMapping") continue;
          mappings++;
          const p = r.Properties as {
            BatchSize: number;
            FunctionName: { Ref: string };
            EventSourceArn: { "Fn::GetAtt": [string, string] };
            ScalingConfig?: { MaximumConcurrency: number };
          };
          const fn = res[p.FunctionName.Ref]?.Properties as {
            Timeout: number;
            ReservedConcurrentExecutions?: number;
          };
          const queue = res[p.EventSourceArn["Fn::GetAtt"][0]]?.Properties as {
            VisibilityTimeout: number;
            FifoQueue?: boolean;
          };
          assert.equal(p.BatchSize, queue.FifoQueue ? LINE_BATCH_SIZE : 1, `${id}/${name}`);
          assert.ok(fn.ReservedConcurrentExecutions, `${id}/${name}: no reserved concurrency`);
          // All event sources of the function together stay within its reservation.
          const pollers = Object.values(res)
            .filter(
              (m) =>
                m.Type === "AWS::Lambda::EventSourceMapping" &&
                (m.Properties?.FunctionName as { Ref: string } | undefined)?.Ref ===
                  p.FunctionName.Ref,
            )
            .reduce(
              (sum, m) =>
                sum +
                ((m.Properties?.ScalingConfig as { MaximumConcurrency: number } | undefined)
                  ?.MaximumConcurrency ?? Infinity),
              0,
            );
          assert.ok(pollers <= fn.ReservedConcurrentExecutions, `${id}/${name}: ${pollers}`);
          assert.ok(queue.VisibilityTimeout >= 6 * fn.Timeout, `${id}/${name}`);
          const smtp =
            SMTP_TIMEOUTS_MS.connection + SMTP_TIMEOUTS_MS.greeting + SMTP_TIMEOUTS_MS.socket;
          assert.ok(smtp < fn.Timeout * 1000, `${id}/${name}: SMTP ${smtp} ms`);
        }
      }
      assert.ok(mappings > 0);
    });

    test("functions alarm on errors and throttles; the ingress on fewer than one running task", () => {
      for (const [id, t] of all(layout)) {
        if (id === "directory") continue;
        const alarms = resourcesOf(t)
          .filter(([, r]) => r.Type === "AWS::CloudWatch::Alarm")
          .map(([, r]) => r.Properties as Record<string, unknown>);
        const fns = resourcesOf(t).filter(
          ([, r]) =>
            r.Type === "AWS::Lambda::Function" && r.Properties?.ReservedConcurrentExecutions,
        );
        for (const metric of ["Errors", "Throttles"]) {
          const n = alarms.filter((a) => a.Namespace === "AWS/Lambda" && a.MetricName === metric);
          assert.equal(n.length, fns.length, `${id}: ${metric}`);
        }
        const running = alarms.filter(
          (a) => a.Namespace === "AWS/ECS" && a.Statistic === "SampleCount",
        );
        assert.equal(running.length, 1, id);
        assert.equal(running[0]?.ComparisonOperator, "LessThanThreshold");
        assert.equal(running[0]?.Threshold, 1);
        assert.equal(running[0]?.TreatMissingData, "breaching");
      }
    });

    test("the load balancer has an Elastic IP in each of its subnets", () => {
      for (const [id, t] of all(layout)) {
        if (id === "directory") continue;
        const [lb] = resourcesOf(t).filter(
          ([, r]) => r.Type === "AWS::ElasticLoadBalancingV2::LoadBalancer",
        );
        const mappings = lb?.[1].Properties?.SubnetMappings as { AllocationId: unknown }[];
        assert.equal(mappings?.length, 2, id);
        for (const m of mappings)
          assert.deepEqual(Object.keys(m.AllocationId as object), ["Fn::GetAtt"]);
        t.resourceCountIs("AWS::EC2::EIP", 2);
      }
    });
  });
}

test("the image is built from a narrow context: sources only, no config, docs or tests", () => {
  const { outdir } = synthExample("single");
  const assets = readdirSync(outdir).filter(
    (d) => d.startsWith("asset.") && existsSync(join(outdir, d, "Dockerfile")),
  );
  assert.equal(assets.length, 1, String(assets));
  const context = readdirSync(join(outdir, assets[0] as string)).sort();
  assert.deepEqual(context, [
    ".dockerignore",
    "Dockerfile",
    "cli",
    "core",
    "functions",
    "package-lock.json",
    "package.json",
    "scripts",
  ]);
});

test("the Dockerfile's listener is the container port the task definition maps", () => {
  const dockerfile = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8");
  assert.match(dockerfile, new RegExp(`"--port", "${CONTAINER_PORT}"`));
  assert.doesNotMatch(dockerfile, /EXPOSE 25\b/);
});

test("adding a gateway changes no other gateway's task definition, only its functions' directory key", () => {
  const raw = JSON.parse(readFileSync(join(REPO_ROOT, "examples", "multiple.json"), "utf8"));
  const before = synthConfig(deployOf(raw), { nag: false });
  const grown = structuredClone(raw);
  grown.postoffices.push({
    id: "FIELD",
    domain: "field.company.example",
    submit: { networks: ["10.5.0.0/16"] },
  });
  grown.gateways.push({
    id: "NORTH",
    mode: "both",
    postoffices: ["FIELD"],
    hostname: "gw-north.company.example",
  });
  const after = synthConfig(deployOf(grown), { nag: false });
  assert.ok(after.gateways.has("NORTH"));
  assert.notEqual(before.deploy.hash, after.deploy.hash);
  for (const id of ["EAST", "WEST"]) {
    const [b, a] = [before, after].map((s) => s.gateways.get(id)?.toJSON());
    assert.ok(a && b);
    const tasks = (t: typeof a) =>
      Object.entries(t.Resources as Record<string, CfnResource>).filter(
        ([, r]) => r.Type === "AWS::ECS::TaskDefinition",
      );
    assert.equal(tasks(b).length, 1);
    assert.deepEqual(tasks(a), tasks(b), `${id}: task definition changed`);
    // Beyond the task definition: the only difference is the directory key the functions read.
    assert.equal(
      JSON.stringify(b).replaceAll(before.deploy.hash, after.deploy.hash),
      JSON.stringify(a),
      `${id}: more than the directory key changed`,
    );
  }
});

test("a shared VPC: one network stack, no VPC in any gateway stack", () => {
  const raw = JSON.parse(readFileSync(join(REPO_ROOT, "examples", "multiple.json"), "utf8"));
  raw.aws.sharedVpc = true;
  const s = synthConfig(deployOf(raw));
  assert.ok(s.layout.network);
  assert.ok(s.stackNames.includes("Mailbag-example-multiple-network"));
  for (const t of s.gateways.values()) t.resourceCountIs("AWS::EC2::VPC", 0);
  const ids = [...s.gateways.values()].map((t) =>
    JSON.stringify(
      (Object.values(t.findResources("AWS::ECS::Service"))[0] as CfnResource).Properties
        ?.NetworkConfiguration,
    ),
  );
  assert.match(ids[0] ?? "", /Fn::ImportValue/);
  assert.equal(ids[0], ids[1], "both gateways' tasks in the same subnets");
});
