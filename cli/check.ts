/**
 * `mailbag check [-c FILE] [--deploy]`: validates a config file for CI pipelines. Prints one line
 * per problem, each naming its field (a JSON syntax error: its line and column), and exits 2; or
 * says the config is valid and exits 0. `--deploy` then also runs the deploy preflight
 * (cli/check-deploy.ts: what would fail on AWS, exit 1).
 */
import { configPath, loadConfigFile } from "../functions/shared/config-file.ts";
import { checkDeploy } from "./check-deploy.ts";
import { CONFIG_ENV, CONFIG_OPTION, type CommandHelp, command } from "./help.ts";

export const CHECK_HELP = {
  name: "check",
  summary: "validate a config file: one line per problem naming its field; exit 0 or 2",
  usage: "[-c FILE] [--deploy]",
  description:
    "Every problem is reported at once, each with its field path (e.g. gateways[0].mode); a\n" +
    "JSON syntax error gives its line and column. Exit 0: valid; 2: invalid. With --deploy it\n" +
    "then lists what would fail on AWS (`cdk deploy` or the deployed gateway), exit 1 if any.\n" +
    "Submit users' password variables are not needed: only the ingress reads them.",
  options: {
    ...CONFIG_OPTION,
    deploy: { type: "boolean", help: "also run the AWS deploy preflight" },
  },
  env: CONFIG_ENV,
  example: "mailbag check -c mailbag.config.json",
} as const satisfies CommandHelp;

export const check = command(CHECK_HELP, { max: 0 }, async ({ values }) => {
  if (values.deploy) return checkDeploy(values.config);
  // A ConfigError propagates to mailbag.ts, which prints each problem on its own line (exit 2).
  const path = configPath(values.config);
  const { config } = loadConfigFile(path);
  process.stdout.write(
    `${path}: valid (network ${config.network}, ${config.postoffices.length} postoffice(s), ${config.gateways.length} gateway(s))\n`,
  );
  return 0;
});
