/**
 * The CLI's own manual: every command describes its options (the very objects handed to
 * parseArgs, so help and parsing cannot drift apart), the environment variables it reads and
 * one example. `mailbag <command> --help` and `mailbag help <command>` print it, exit 0.
 */
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { UsageError } from "./common.ts";

/** A parseArgs option plus what a person needs to use it. */
export interface OptionHelp {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
  /** The value's placeholder in the usage, e.g. FILE. */
  readonly arg?: string;
  readonly help: string;
}

export type OptionsHelp = Readonly<Record<string, OptionHelp>>;

export interface CommandHelp<O extends OptionsHelp = OptionsHelp> {
  readonly name: string;
  readonly summary: string;
  /** The synopsis after `mailbag <name>`, e.g. `<address>... [options]`. */
  readonly usage: string;
  /** Paragraphs after the synopsis: what it does, what it prints, exit codes. */
  readonly description?: string;
  readonly options: O;
  /** Environment variables the command reads → meaning. */
  readonly env?: Readonly<Record<string, string>>;
  readonly example: string;
}

/** Options every command with a config file shares. */
export const CONFIG_OPTION = {
  config: {
    type: "string",
    short: "c",
    arg: "FILE",
    help: "config file (default: $MAILBAG_CONFIG, else ./mailbag.config.json)",
  },
} as const satisfies OptionsHelp;

/**
 * How a command reaches a running gateway's bucket and queues (cli/common.ts backendSettings):
 * the embedded emulator of `mailbag start`, AWS_ENDPOINT_URL (LocalStack), or real AWS.
 */
export const BACKEND_OPTIONS = {
  backend: {
    type: "string",
    arg: "KIND",
    help: "emulator (default without AWS_ENDPOINT_URL), endpoint (AWS_ENDPOINT_URL) or aws",
  },
  "emulator-port": {
    type: "string",
    arg: "N",
    help: "the running emulator's port (default: found in --data-dir, else 4577)",
  },
  "data-dir": {
    type: "string",
    arg: "DIR",
    help: "the data directory of the running `mailbag start` (default .mailbag)",
  },
} as const satisfies OptionsHelp;

export const BACKEND_ENV = {
  MAILBAG_BACKEND: "--backend",
  MAILBAG_EMULATOR_PORT: "--emulator-port",
  MAILBAG_DATA_DIR: "--data-dir",
  AWS_ENDPOINT_URL: "an AWS-compatible endpoint (LocalStack); AWS_REGION the region",
} as const;

export const CONFIG_ENV = {
  MAILBAG_CONFIG: "config file when --config is not given",
} as const;

/** The options every command on a running network shares: config and backend. */
export const OPS_OPTIONS = { ...CONFIG_OPTION, ...BACKEND_OPTIONS } as const;
export const OPS_ENV = { ...CONFIG_ENV, ...BACKEND_ENV } as const;

/** The options of a postoffice's own commands on its mailbag (fetch, submit). */
export const postofficeOptions = (role: string) =>
  ({
    ...OPS_OPTIONS,
    postoffice: { type: "string", short: "p", arg: "ID", help: role },
    bucket: { type: "string", arg: "NAME", help: "the mailbag bucket (default: from the config)" },
  }) as const satisfies OptionsHelp;

/** `--help` or `-h` before any `--`. */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

/** How many positional arguments a command takes (default: any number). */
export interface Arity {
  readonly min?: number;
  readonly max?: number;
}

/**
 * parseArgs over the command's documented options (strict: an unknown option is exit 2), and
 * the positional arguments counted against `arity`: a UsageError (exit 2) names an argument a
 * command without any does not take, else prints the synopsis.
 * `--help` never gets here: mailbag.ts answers it before running the command.
 */
export function parseCommand<const O extends OptionsHelp>(
  spec: CommandHelp<O>,
  argv: string[],
  arity?: Arity,
) {
  const parsed = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: spec.options as O & ParseArgsOptionsConfig,
  });
  const n = parsed.positionals.length;
  if (arity?.max === 0 && n > 0)
    throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  if (arity && (n < (arity.min ?? 0) || n > (arity.max ?? Number.POSITIVE_INFINITY)))
    throw new UsageError(`usage: mailbag ${spec.name} ${spec.usage} (mailbag ${spec.name} --help)`);
  return parsed;
}

/**
 * A command of `mailbag`: `run` gets the arguments parsed by the command's own help spec and
 * counted against `arity`, so no command parses or counts them itself.
 */
export function command<const O extends OptionsHelp>(
  spec: CommandHelp<O>,
  arity: Arity,
  run: (args: ReturnType<typeof parseCommand<O>>) => Promise<number>,
): (argv: string[]) => Promise<number> {
  return (argv) => run(parseCommand(spec, argv, arity));
}

function optionLabel(name: string, o: OptionHelp): string {
  const value = o.type === "string" ? ` ${o.arg ?? "VALUE"}` : "";
  return `${o.short ? `-${o.short}, ` : "    "}--${name}${value}`;
}

export function formatHelp(spec: CommandHelp): string {
  const out = [`usage: mailbag ${spec.name} ${spec.usage}`.trimEnd(), "", spec.summary];
  if (spec.description) out.push("", spec.description);
  const options = Object.entries(spec.options);
  if (options.length > 0) {
    const labels = options.map(([n, o]) => optionLabel(n, o));
    const width = Math.max(...labels.map((l) => l.length)) + 2;
    out.push("", "options:");
    options.forEach(([, o], i) => {
      const repeat = o.multiple ? " (repeatable)" : "";
      out.push(`  ${(labels[i] ?? "").padEnd(width)}${o.help}${repeat}`);
    });
    out.push(`  ${"-h, --help".padEnd(width)}this help`);
  }
  const env = Object.entries(spec.env ?? {});
  if (env.length > 0) {
    const width = Math.max(...env.map(([n]) => n.length)) + 2;
    out.push("", "environment:", ...env.map(([n, h]) => `  ${n.padEnd(width)}${h}`));
  }
  out.push("", "example:", `  ${spec.example}`, "");
  return out.join("\n");
}
