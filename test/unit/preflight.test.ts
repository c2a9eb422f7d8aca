/**
 * The deploy preflight (core/preflight.ts) and `mailbag check --deploy`: one line per problem
 * that would fail on AWS, each naming its field; the example configs have none.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { parseConfig } from "../../core/config.ts";
import { deployProblems } from "../../core/preflight.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const EXAMPLES = ["single", "multiple", "dedicated", "multiple-dedicated"];
const example = (name: string) =>
  JSON.parse(readFileSync(join(ROOT, "examples", `${name}.json`), "utf8"));
const problems = (raw: unknown) => deployProblems(parseConfig(raw, {}));

test("the example layouts are ready to deploy: no problem at all", () => {
  for (const name of EXAMPLES) assert.deepEqual(problems(example(name)), [], name);
});

test("one line per problem, each naming its field", () => {
  const raw = example("multiple");
  raw.smartHost = { url: "smtp://relay.company.example" }; // no port: 25
  raw.aws = {
    account: "111122223333",
    region: "us-east-1",
    dns: { zones: [{ id: "Z0EXAMPLE00000000001", name: "company.example" }] },
  };
  const lines = problems(raw);
  assert.equal(lines.length, 5, lines.join("\n"));
  const fields = lines.map((l) => l.slice(0, l.indexOf(": ")));
  assert.deepEqual(fields, [
    "smartHost.url",
    "aws.account",
    "aws.dns.zones[0].id",
    "aws.alarms",
    "aws.ingress.tlsSecret",
  ]);
  for (const l of lines) assert.doesNotMatch(l, /\n/);
});

test("smart host: port 25 is refused, 587, 465 and SES are not", () => {
  const with_ = (smartHost: unknown) => problems({ ...example("single"), smartHost });
  assert.match(with_({ url: "smtp://relay.example:25" })[0] ?? "", /^smartHost\.url: port 25/);
  assert.deepEqual(with_({ url: "smtp://relay.example:587" }), []);
  assert.deepEqual(with_({ url: "smtps://relay.example" }), []);
  assert.deepEqual(with_({ ses: {} }), []);
});

test("alarm topic: an ARN of another account or region, or an example account, is refused", () => {
  const base = example("single");
  const at = (topicArn: string, aws: object = {}) =>
    problems({ ...base, aws: { ...base.aws, ...aws, alarms: { topicArn } } });
  assert.match(at("arn:aws:sns:eu-west-1:111122223333:alarms")[0] ?? "", /example account/);
  assert.deepEqual(at("arn:aws:sns:eu-west-1:210987654321:alarms", { region: "us-east-1" }), [
    "aws.alarms.topicArn: in region eu-west-1, not aws.region us-east-1",
  ]);
  assert.deepEqual(
    at("arn:aws:sns:eu-west-1:210987654321:alarms", { account: "210987654321" }),
    [],
  );
});

test("`mailbag check --deploy`: exit 1 with the problems, 0 when ready", async () => {
  const run = promisify(execFile);
  const dir = mkdtempSync(join(tmpdir(), "mailbag-preflight-"));
  const bad = join(dir, "bad.json");
  const raw = example("multiple");
  raw.smartHost = { url: "smtp://relay.company.example:25" };
  writeFileSync(bad, JSON.stringify(raw));
  const cli = join(ROOT, "cli", "mailbag.ts");
  const failed = await run(process.execPath, [cli, "check", "--deploy", "--config", bad]).then(
    () => assert.fail("exit 0"),
    (err: { code: number; stdout: string }) => err,
  );
  assert.equal(failed.code, 1);
  assert.deepEqual(failed.stdout.trim().split("\n"), [
    `${bad}: smartHost.url: port 25: the delivery function (Lambda) cannot connect to port 25; use the relay's submission port (smtp://host:587 or smtps://host:465) or SES`,
  ]);
  const good = join(ROOT, "examples", "multiple-dedicated.json");
  const ok = await run(process.execPath, [cli, "check", "--deploy", "--config", good]);
  assert.equal(ok.stdout, `${good}: ready to deploy\n`);
});
