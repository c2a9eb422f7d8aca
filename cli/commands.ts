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
import { FETCH_HELP, fetch } from "./fetch.ts";
import { type CommandHelp, formatHelp } from "./help.ts";
import { QUEUE_HELP, queue } from "./queue.ts";
import { ROUTE_HELP, route } from "./route.ts";
import { FIND_HELP, find, SHOW_HELP, show } from "./show.ts";
import { START_HELP, start } from "./start.ts";
import { SUBMIT_HELP, submit } from "./submit.ts";

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
