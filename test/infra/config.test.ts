/**
 * The `aws` config section (defaults, unknown keys), the example configs against parseConfig,
 * and the directory the functions load at cold start.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { S3Client } from "@aws-sdk/client-s3";
import { parseConfig } from "../../core/config.ts";
import { awsSection } from "../../core/config-aws.ts";
import { ConfigError } from "../../core/errors.ts";
import { loadConfig } from "../../functions/shared/config-file.ts";
import { parseDirectoryUrl } from "../../functions/shared/directory.ts";
import { deployConfig, REPO_ROOT } from "../../infra/config.ts";
import { exampleConfigs, rawConfig } from "../helpers/routing-fixtures.ts";

const example = (name: string): unknown =>
  JSON.parse(readFileSync(join(REPO_ROOT, "examples", `${name}.json`), "utf8"));

test("every example config validates with parseConfig, and the CDK app takes it", () => {
  const examples = exampleConfigs();
  assert.ok(examples.length >= 5, `only ${examples.join(", ")} found`);
  for (const path of examples) {
    const raw = rawConfig(path);
    const config = parseConfig(raw, {});
    assert.ok(config.gateways.length >= 1, path);
    assert.equal(deployConfig({ config, raw }).config, config, path);
  }
});

test("aws section: every key optional, defaults as documented", () => {
  const aws = awsSection.parse({});
  assert.deepEqual(aws.mailbag, { spoolExpireDays: 90, infrequentAccessDays: 30 });
  assert.deepEqual(aws.functions, {
    routerMemoryMB: 128,
    deliverMemoryMB: 128,
    logRetentionDays: 30,
    timeoutSeconds: 60,
    reservedConcurrency: 2,
  });
  assert.deepEqual(aws.ingress, {
    cpu: 256,
    memoryMiB: 512,
    minTasks: 2,
    maxTasks: 6,
    connectionsPerTask: 200,
    elasticIps: true,
  });
  assert.deepEqual(aws.alarms, { oldestMessageSeconds: 900 });
  assert.equal(aws.dns, undefined);
  assert.equal(aws.sharedVpc, false);
  // The defaults object equals what parsing an empty section yields (no drift between the two).
  assert.deepEqual(awsSection.parse({ functions: {}, ingress: {} }), aws);
});

test("aws section: unknown keys and bad values are refused, naming the field", () => {
  const base = example("single") as Record<string, unknown>;
  const bad = (aws: unknown) => () => parseConfig({ ...base, aws });
  assert.throws(bad({ ingress: { desired: 3 } }), (e: ConfigError) => {
    assert.match(e.message, /aws\.ingress.*desired/);
    return true;
  });
  assert.throws(bad({ ingress: { minTasks: 4, maxTasks: 2 } }), /aws\.ingress\.maxTasks/);
  assert.throws(
    bad({ dns: { zones: [{ id: "nope", name: "x.example" }] } }),
    /aws\.dns\.zones\[0\]\.id/,
  );
  assert.throws(bad({ functions: { logRetentionDays: 5 } }), /aws\.functions\.logRetentionDays/);
});

test("parseConfig validates without the submit users' password variables", () => {
  const config = parseConfig(example("multiple-dedicated"), {});
  assert.equal(config.postoffices[0]?.submit.users[0]?.passwordEnv, "MAILBAG_HQ_PASSWORD");
});

test("directory URL: s3://bucket/key, anything else names MAILBAG_DIRECTORY", () => {
  assert.deepEqual(parseDirectoryUrl("s3://acme-directory/directory/0123abcd.json"), {
    bucket: "acme-directory",
    key: "directory/0123abcd.json",
  });
  assert.throws(() => parseDirectoryUrl("ssm:/acme"), /MAILBAG_DIRECTORY/);
});

test("loadConfig of the directory: fetches the object once and validates it without submit passwords", async () => {
  const calls: unknown[] = [];
  const s3 = {
    send: async (command: { input: unknown }) => {
      calls.push(command.input);
      return {
        Body: { transformToString: async () => JSON.stringify(example("multiple-dedicated")) },
      };
    },
  } as unknown as S3Client;
  const { config } = await loadConfig(
    { directory: "s3://example-multided-directory/directory/ab.json", s3 },
    {},
  );
  assert.deepEqual(calls, [{ Bucket: "example-multided-directory", Key: "directory/ab.json" }]);
  assert.equal(config.gateways.length, 4);
});

test("loadConfig of the directory: a broken object is a ConfigError naming the URL", async () => {
  const s3 = {
    send: async () => ({ Body: { transformToString: async () => "{not json" } }),
  } as unknown as S3Client;
  await assert.rejects(loadConfig({ directory: "s3://b-dir/k.json", s3 }, {}), (e: Error) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /s3:\/\/b-dir\/k\.json/);
    return true;
  });
});
