/**
 * The four layouts of seed Q132060, each synthesized from its example config: one stack per
 * gateway plus the directory stack, with per-gateway resource counts by mode. cdk-nag runs in
 * every synth (a finding without a written acknowledgment throws).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Match } from "aws-cdk-lib/assertions";
import { buildAddressMap } from "../../core/address-map.ts";
import type { Config } from "../../core/config.ts";
import { synthExample } from "./helpers.ts";

const LAYOUTS: Record<string, { stacks: string[]; modes: Record<string, string> }> = {
  single: {
    stacks: ["Mailbag-example-single-GW1", "Mailbag-example-single-directory"],
    modes: { GW1: "both" },
  },
  multiple: {
    stacks: [
      "Mailbag-example-multiple-EAST",
      "Mailbag-example-multiple-WEST",
      "Mailbag-example-multiple-directory",
    ],
    modes: { EAST: "both", WEST: "both" },
  },
  dedicated: {
    stacks: [
      "Mailbag-example-dedicated-RECV",
      "Mailbag-example-dedicated-SEND",
      "Mailbag-example-dedicated-directory",
    ],
    modes: { SEND: "send", RECV: "receive" },
  },
  "multiple-dedicated": {
    stacks: [
      "Mailbag-example-multided-RECV1",
      "Mailbag-example-multided-RECV2",
      "Mailbag-example-multided-SEND1",
      "Mailbag-example-multided-SEND2",
      "Mailbag-example-multided-directory",
    ],
    modes: { SEND1: "send", RECV1: "receive", SEND2: "send", RECV2: "receive" },
  },
};

/**
 * What a gateway's postoffice exchange adds (infra/constructs/postoffice-exchange.ts): a
 * notification queue per pickup postoffice it receives for; where it sends, the intake queue
 * with its dead-letter queue, the intake function (with its 2 function alarms) and its 2 queue
 * alarms.
 */
function exchange(config: Config, id: string) {
  const map = buildAddressMap(config);
  const pickups = config.postoffices.filter(
    (po) => !po.inbound && map.receiverOf.get(po.id)?.id === id,
  ).length;
  const sends = map.gateways.get(id)?.mode !== "receive" ? 1 : 0;
  return { queues: pickups + 2 * sends, functions: sends, alarms: 4 * sends };
}

/**
 * What a gateway stack holds, by mode. Queues: the FIFO lines with their dead-letter queues,
 * where it sends the retry queue with its own (infra/constructs/retry-queue.ts). Event source
 * mappings: one per function, and the delivery function's second, the retry queue. Alarms: 2
 * per FIFO queue (dead letters, oldest message), 1 for the retry queue's dead letters, 2 per
 * function (errors, throttles), 1 per target group, 1 running-task count, 2 for scaling.
 */
const EXPECTED = {
  both: {
    queues: 4 + 2,
    functions: 2,
    mappings: 3,
    listeners: [25, 587],
    alarms: 2 * 2 + 1 + 2 * 2 + 2 + 1 + 2,
  },
  send: {
    queues: 4 + 2,
    functions: 2,
    mappings: 3,
    listeners: [587],
    alarms: 2 * 2 + 1 + 2 * 2 + 1 + 1 + 2,
  },
  receive: {
    queues: 2,
    functions: 1,
    mappings: 1,
    listeners: [25],
    alarms: 1 * 2 + 1 * 2 + 1 + 1 + 2,
  },
} as const;

for (const [name, want] of Object.entries(LAYOUTS)) {
  describe(`layout ${name}`, () => {
    const synth = () => synthExample(name, name === "single");

    test("synthesizes one stack per gateway plus the directory", () => {
      assert.deepEqual(synth().stackNames, want.stacks);
    });

    test("every gateway stack depends on the directory stack", () => {
      const { layout } = synth();
      for (const stack of layout.gateways.values()) {
        assert.ok(stack.dependencies.includes(layout.directory), stack.stackName);
      }
    });

    test("the directory publishes the config at a content-addressed key", () => {
      const { directory } = synth();
      directory.resourceCountIs("AWS::S3::Bucket", 1);
      directory.hasResourceProperties("AWS::S3::Bucket", {
        VersioningConfiguration: { Status: "Enabled" },
      });
      directory.resourceCountIs("Custom::CDKBucketDeployment", 1);
      directory.hasResourceProperties("Custom::CDKBucketDeployment", { Prune: false });
    });

    for (const [id, mode] of Object.entries(want.modes)) {
      const counts = EXPECTED[mode as keyof typeof EXPECTED];

      test(`${id} (${mode}): bucket, queues, functions, listeners, alarms`, () => {
        const { gateways, deploy } = synth();
        const t = gateways.get(id);
        assert.ok(t, `no stack for ${id}`);
        t.resourceCountIs("AWS::S3::Bucket", 1);
        const more = exchange(deploy.config, id);
        t.resourceCountIs("AWS::SQS::Queue", counts.queues + more.queues);
        const functions = t.findResources("AWS::Lambda::Function", {
          Properties: { FunctionName: Match.stringLikeRegexp(`^${deploy.config.prefix}-${id}-`) },
        });
        assert.equal(Object.keys(functions).length, counts.functions + more.functions);
        t.resourceCountIs("AWS::Lambda::EventSourceMapping", counts.mappings + more.functions);
        t.resourceCountIs("AWS::ECS::Service", 1);
        t.resourceCountIs("AWS::ElasticLoadBalancingV2::LoadBalancer", 1);
        const ports = Object.values(t.findResources("AWS::ElasticLoadBalancingV2::Listener"))
          .map((l) => (l as { Properties: { Port: number } }).Properties.Port)
          .sort((a, b) => a - b);
        assert.deepEqual(ports, counts.listeners);
        t.resourceCountIs("AWS::CloudWatch::Alarm", counts.alarms + more.alarms);
        t.hasOutput("LoadBalancerDnsName", {});
        t.hasOutput("Bucket", {});
        t.hasOutput("routeQueue", {});
      });
    }
  });
}

test("the single layout's functions are really bundled by esbuild (ESM, source maps)", () => {
  const { gateways, outdir } = synthExample("single", true);
  const t = gateways.get("GW1");
  assert.ok(t);
  const fns = Object.values(
    t.findResources("AWS::Lambda::Function", { Properties: { Handler: "index.handler" } }),
  );
  // Router and delivery at least (postoffice exchange functions where configured).
  assert.ok(fns.length >= 2, `${fns.length} functions`);
  for (const fn of fns) {
    const code = (fn as { Properties: { Code: { S3Key?: string } } }).Properties.Code;
    assert.match(code.S3Key ?? "", /^[0-9a-f]{64}\.zip$/);
    // The staged asset: one ESM file with every import inlined, and its source map.
    const asset = join(outdir, `asset.${code.S3Key?.slice(0, 64)}`);
    assert.deepEqual(readdirSync(asset).sort(), ["index.mjs", "index.mjs.map"]);
    const bundle = readFileSync(join(asset, "index.mjs"), "utf8");
    assert.match(bundle, /createRequire/, "the ESM banner");
    assert.doesNotMatch(bundle, /from\s*["']\.{1,2}\//, "a relative import left unbundled");
    assert.doesNotMatch(
      bundle,
      /from\s*["'](@aws-sdk|@middy|zod)[/"']/,
      "a package left unbundled",
    );
    assert.match(bundle, /\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
    const map = JSON.parse(readFileSync(join(asset, "index.mjs.map"), "utf8")) as {
      sources: string[];
    };
    assert.ok(
      map.sources.some((s) => /functions\/[a-z-]+\/index\.ts$/.test(s)),
      "the entry",
    );
    assert.ok(
      map.sources.some((s) => /core\/[a-z-]+\.ts$/.test(s)),
      "core is bundled in",
    );
  }
  t.hasResourceProperties("AWS::Lambda::Function", {
    Handler: "index.handler",
    Environment: { Variables: Match.objectLike({ NODE_OPTIONS: "--enable-source-maps" }) },
  });
});
