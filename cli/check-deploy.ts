/**
 * `mailbag check --deploy [--config FILE]`: the deploy preflight (core/preflight.ts). Prints one
 * line per problem that would make `cdk deploy` or the deployed gateway fail on AWS and exits 1,
 * or says the config is ready and exits 0. Submit passwords need not be set: the CDK app never
 * reads them either. (`mailbag check` without --deploy is the plain config check.)
 */
import { deployProblems } from "../core/preflight.ts";
import { configPath, loadConfig } from "../functions/shared/config-file.ts";

/** `explicit`: the --config option `mailbag check` parsed. */
export async function checkDeploy(explicit: string | undefined): Promise<number> {
  const path = configPath(explicit);
  const { config } = await loadConfig({ file: path });
  const problems = deployProblems(config);
  for (const p of problems) process.stdout.write(`${path}: ${p}\n`);
  if (problems.length === 0) process.stdout.write(`${path}: ready to deploy\n`);
  return problems.length === 0 ? 0 : 1;
}
