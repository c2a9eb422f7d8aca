/**
 * `mailbag <command>`: the gateway's command line. Exit codes: 0 ok, 1 runtime failure,
 * 2 bad usage or invalid configuration (the error names the field).
 */
import { MailbagError } from "../core/errors.ts";
import { addressMap, gateway, postoffice } from "./admin.ts";
import { checkDeploy } from "./check-deploy.ts";
import { UsageError } from "./common.ts";
import { dns } from "./dns.ts";
import { emulator } from "./emulator.ts";
import { fetch } from "./fetch.ts";
import { route } from "./route.ts";
import { start } from "./start.ts";
import { submit } from "./submit.ts";

const COMMANDS: Record<
  string,
  { summary: string; run: (args: string[]) => Promise<number | undefined> }
> = {
  start: {
    summary: "run the gateway(s) of the config locally: ingress + queue runners",
    run: start,
  },
  emulator: { summary: "run the embedded S3+SQS emulator on its own", run: emulator },
  route: {
    summary: "explain every hop of an address: route <address> [--from-gateway ID]",
    run: route,
  },
  dns: { summary: "hosts-table lines and MX records the smart host needs", run: dns },
  postoffice: { summary: "postoffice create|modify|delete|list", run: postoffice },
  "address-map": {
    summary: "address-map add|remove|list (aliases, address spaces)",
    run: addressMap,
  },
  gateway: { summary: "gateway create|modify|delete|list", run: gateway },
  fetch: {
    summary:
      "a pickup postoffice collects its mail: fetch --postoffice ID (--maildir DIR | --smtp URL | --lmtp URL) [--once]",
    run: fetch,
  },
  submit: {
    summary:
      "drop messages into a postoffice's outbound mailbag: submit --postoffice ID FILE.eml...",
    run: submit,
  },
  check: {
    summary: "check --deploy: what would fail on AWS (one line per problem)",
    run: async (args) => {
      if (!args.includes("--deploy")) throw new UsageError("only `check --deploy` is available");
      return checkDeploy(args);
    },
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: mailbag <command> [options]\n\ncommands:\n${lines.join("\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`mailbag: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  try {
    return (await command.run(args)) ?? 0;
  } catch (err) {
    if (
      err instanceof UsageError ||
      (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      process.stderr.write(`mailbag ${name}: ${(err as Error).message}\n`);
      return 2;
    }
    if (err instanceof MailbagError && err.name === "ConfigError") {
      process.stderr.write(`mailbag: invalid configuration: ${err.reason}\n`);
      return 2;
    }
    process.stderr.write(`mailbag ${name}: ${(err as Error).stack ?? err}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
