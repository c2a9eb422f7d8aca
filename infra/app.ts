/**
 * The CDK app: `npx cdk synth -c config=examples/single.json` (default: mailbag.config.json).
 * Synthesizes offline: functions are bundled by the local esbuild, the ingress image is only
 * fingerprinted (Docker builds it at `cdk deploy`). Refuses, before anything else, a config the
 * deploy preflight (core/preflight.ts, also `mailbag check --deploy`) finds problems in.
 */
import { App } from "aws-cdk-lib";
import { deployProblems } from "../core/preflight.ts";
import { configPath, loadConfig } from "../functions/shared/config-file.ts";
import { deployConfig } from "./config.ts";
import { defineLayout } from "./layout.ts";

const app = new App();
const file = (app.node.tryGetContext("config") as string | undefined) ?? "mailbag.config.json";
const deploy = deployConfig(await loadConfig({ file: configPath(file) }));
const problems = deployProblems(deploy.config);
if (problems.length > 0) {
  for (const p of problems) process.stderr.write(`${file}: ${p}\n`);
  process.stderr.write(
    `${file}: ${problems.length} problem(s) would fail on AWS; not synthesized\n`,
  );
  process.exit(1);
}
defineLayout(app, deploy);
app.synth();
