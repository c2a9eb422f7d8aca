/**
 * `mailbag <command>`: the gateway's command line. Exit codes: 0 ok, 1 runtime failure,
 * 2 bad usage or invalid configuration (the error names the field).
 */
import { MailbagError } from "../core/errors.ts";
import { COMMANDS, help, usage } from "./commands.ts";
import { UsageError } from "./common.ts";
import { wantsHelp } from "./help.ts";

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name) {
    process.stderr.write(usage());
    return 2;
  }
  if (name === "help" || name === "--help" || name === "-h") return help(args[0]);
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`mailbag: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  if (wantsHelp(args)) return help(name);
  try {
    return (await command.run(args)) ?? 0;
  } catch (err) {
    if (
      err instanceof UsageError ||
      (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      // A wrong option or argument (not a refused edit): point at the command's own help.
      const hint = err instanceof UsageError ? "" : ` (see: mailbag ${name} --help)`;
      process.stderr.write(`mailbag ${name}: ${(err as Error).message}${hint}\n`);
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
