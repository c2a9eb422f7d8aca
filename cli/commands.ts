/** The commands of `mailbag`, each with its help (cli/help.ts). */

import { DELETE_HELP, FLUSH_HELP, flush, REDRIVE_HELP, redrive, remove } from "./actions.ts";
import {
  ADDRESS_MAP_HELP,
  addressMap,
  GATEWAY_HELP,
  gateway,
  POSTOFFICE_HELP,
  postoffice,
} from "./admin.ts";
import { CHECK_HELP, check } from "./check.ts";
import { DNS_HELP, dns } from "./dns.ts";
import { EMULATOR_HELP, emulator } from "./emulator.ts";
import { fetch } from "./fetch.ts";
import {
  BACKEND_ENV,
  BACKEND_OPTIONS,
  CONFIG_ENV,
  CONFIG_OPTION,
  type CommandHelp,
  formatHelp,
} from "./help.ts";
import { QUEUE_HELP, queue } from "./queue.ts";
import { ROUTE_HELP, route } from "./route.ts";
import { FIND_HELP, find, SHOW_HELP, show } from "./show.ts";
import { START_HELP, start } from "./start.ts";
import { submit } from "./submit.ts";

const FETCH_HELP = {
  name: "fetch",
  summary: "a pickup postoffice collects its mail from its inbound mailbag",
  usage: "--postoffice ID (--maildir DIR | --smtp URL | --lmtp URL) [--once]",
  description:
    "Each waiting message is handed to a Maildir or a local MTA, then removed from the inbound\n" +
    "mailbag (docs/postoffices.md#pickup). Without --once it keeps going, woken by the\n" +
    "postoffice's notification queue where there is one, else polling every --interval seconds.",
  options: {
    ...CONFIG_OPTION,
    ...BACKEND_OPTIONS,
    postoffice: { type: "string", short: "p", arg: "ID", help: "the postoffice collecting" },
    maildir: { type: "string", arg: "DIR", help: "deliver into this Maildir (tmp/ then new/)" },
    smtp: { type: "string", arg: "URL", help: "hand each message to this SMTP server" },
    lmtp: { type: "string", arg: "URL", help: "hand each message to this LMTP server" },
    once: { type: "boolean", help: "drain what is waiting, print what moved, exit" },
    bucket: { type: "string", arg: "NAME", help: "the mailbag bucket (default: from the config)" },
    queue: {
      type: "string",
      arg: "NAME",
      help: "the notification queue (default: from the config)",
    },
    interval: { type: "string", arg: "SECONDS", help: "polling interval without a queue (2)" },
  },
  env: { ...CONFIG_ENV, ...BACKEND_ENV },
  example: "mailbag fetch --postoffice SALES --maildir ~/Maildir --once",
} as const satisfies CommandHelp;

const SUBMIT_HELP = {
  name: "submit",
  summary: "drop messages into a postoffice's outbound mailbag, as an application would",
  usage: "--postoffice ID [--from ADDR --to ADDR...] FILE.eml...",
  description:
    "Without --from/--to the gateway takes the envelope from the headers\n" +
    "(docs/postoffices.md#outbound-mailbag).",
  options: {
    ...CONFIG_OPTION,
    ...BACKEND_OPTIONS,
    postoffice: { type: "string", short: "p", arg: "ID", help: "the submitting postoffice" },
    from: { type: "string", arg: "ADDR", help: "envelope sender (with --to)" },
    to: { type: "string", multiple: true, arg: "ADDR", help: "envelope recipient (with --from)" },
    bucket: { type: "string", arg: "NAME", help: "the mailbag bucket (default: from the config)" },
  },
  env: { ...CONFIG_ENV, ...BACKEND_ENV },
  example: "mailbag submit --postoffice HQ message.eml",
} as const satisfies CommandHelp;

interface Command {
  readonly help: CommandHelp;
  run(args: string[]): Promise<number | undefined>;
}

export const COMMANDS: Record<string, Command> = {
  start: { help: START_HELP, run: start },
  emulator: { help: EMULATOR_HELP, run: emulator },
  route: { help: ROUTE_HELP, run: route },
  dns: { help: DNS_HELP, run: dns },
  postoffice: { help: POSTOFFICE_HELP, run: postoffice },
  "address-map": { help: ADDRESS_MAP_HELP, run: addressMap },
  gateway: { help: GATEWAY_HELP, run: gateway },
  fetch: { help: FETCH_HELP, run: fetch },
  submit: { help: SUBMIT_HELP, run: submit },
  check: { help: CHECK_HELP, run: check },
  queue: { help: QUEUE_HELP, run: queue },
  show: { help: SHOW_HELP, run: show },
  find: { help: FIND_HELP, run: find },
  flush: { help: FLUSH_HELP, run: flush },
  redrive: { help: REDRIVE_HELP, run: redrive },
  delete: { help: DELETE_HELP, run: remove },
};

export const HELP_HELP = {
  name: "help",
  summary: "this list, or one command's options and an example",
  usage: "[<command>]",
  options: {},
  example: "mailbag help queue",
} as const satisfies CommandHelp;

export function usage(): string {
  const all = [...Object.values(COMMANDS).map((c) => c.help), HELP_HELP];
  const lines = all.map((h) => `  ${h.name.padEnd(12)} ${h.summary}`);
  return (
    `usage: mailbag <command> [options]\n\ncommands:\n${lines.join("\n")}\n\n` +
    "`mailbag <command> --help` or `mailbag help <command>`: its options and an example.\n" +
    "Exit codes: 0 ok, 1 runtime failure, 2 bad usage or invalid configuration.\n"
  );
}

/** The help of a command (`help`, `--help` and `-h` are the help command itself). */
export function helpOf(topic: string): CommandHelp | undefined {
  return ["help", "--help", "-h"].includes(topic) ? HELP_HELP : COMMANDS[topic]?.help;
}

/** `mailbag help [command]`, `mailbag --help`. */
export function help(topic: string | undefined): number {
  if (topic === undefined) {
    process.stdout.write(usage());
    return 0;
  }
  const spec = helpOf(topic);
  if (!spec) {
    process.stderr.write(`mailbag: unknown command '${topic}'\n${usage()}`);
    return 2;
  }
  process.stdout.write(formatHelp(spec));
  return 0;
}
