/**
 * `mailbag check --deploy [--config FILE]`: the deploy preflight (core/preflight.ts). Prints one
 * line per problem that would make `cdk deploy` or the deployed gateway fail on AWS and exits 1,
 * or says the config is ready and exits 0. Submit passwords need not be set: the CDK app never
 * reads them either. (`mailbag check` without --deploy is the plain config check.)
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { parseConfig } from "../core/config.ts";
import { unusedPasswords } from "../core/config-aws.ts";
import { ConfigError } from "../core/errors.ts";
import { deployProblems } from "../core/preflight.ts";
import { configPath } from "../functions/shared/config-file.ts";
import { configOption } from "./common.ts";

export async function checkDeploy(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...configOption, deploy: { type: "boolean" } },
  });
  const path = configPath(values.config);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new ConfigError(path, `cannot read config file: ${(err as Error).message}`);
  }
  const config = parseConfig(raw, { ...unusedPasswords(raw), ...process.env });
  const problems = deployProblems(config);
  for (const p of problems) process.stdout.write(`${path}: ${p}\n`);
  if (problems.length === 0) process.stdout.write(`${path}: ready to deploy\n`);
  return problems.length === 0 ? 0 : 1;
}
