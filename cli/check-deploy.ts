/**
 * `mailbag check --deploy [--config FILE]`: the deploy preflight (core/preflight.ts). Prints one
 * line per problem that would make `cdk deploy` or the deployed gateway fail on AWS and exits 1,
 * or says the config is ready and exits 0. Submit passwords need not be set: the CDK app never
 * reads them either. (`mailbag check` without --deploy is the plain config check.)
 */
import { parseArgs } from "node:util";
import { deployProblems } from "../core/preflight.ts";
import { configPath, loadConfig } from "../functions/shared/config-file.ts";
import { configOption } from "./common.ts";

export async function checkDeploy(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...configOption, deploy: { type: "boolean" } },
  });
  const path = configPath(values.config);
  const { config } = await loadConfig({ file: path });
  const problems = deployProblems(config);
  for (const p of problems) process.stdout.write(`${path}: ${p}\n`);
  if (problems.length === 0) process.stdout.write(`${path}: ready to deploy\n`);
  return problems.length === 0 ? 0 : 1;
}
