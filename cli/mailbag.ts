/**
 * `mailbag <command>`: the gateway's command line. Exit codes: 0 ok, 1 runtime failure,
 * 2 bad usage, invalid configuration or any failure to start (the error names the field).
 * Errors are one line; MAILBAG_DEBUG=1 adds the stack trace.
 */
import { isConfigError, StartupError } from "../core/errors.ts";
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
    if (isConfigError(err)) {
      for (const issue of err.issues) {
        process.stderr.write(`mailbag: invalid configuration: ${issue.path}: ${issue.reason}\n`);
      }
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`mailbag ${name}: ${message.split("\n")[0]}\n`);
    if (process.env.MAILBAG_DEBUG) process.stderr.write(`${(err as Error).stack ?? ""}\n`);
    // A gateway that cannot start is a setup problem (a port in use, a certificate that does not
    // load): the same exit code as a bad configuration.
    return err instanceof StartupError || name === "start" ? 2 : 1;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// A start that failed half-way may have left servers open (the emulator): do not hang.
if (code !== 0) process.exit(code);
