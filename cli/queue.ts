/**
 * `mailbag queue [--json] [--watch]`: Postfix's `mailq` for a Mailbag network. Per gateway and
 * queue: jobs waiting, in flight, delayed, and the age of the oldest message; totals last. The
 * counts are SQS's; the age is read from the mailbag's records (core/mailq.ts says why).
 */

import { buildAddressMap } from "../core/address-map.ts";
import { queueTotals } from "../core/mailq.ts";
import { createAwsClients } from "../functions/shared/aws.ts";
import { type Mailq, mailq, snapshot } from "../functions/shared/mailq-store.ts";
import { backendSettings, UsageError } from "./common.ts";
import { readConfig } from "./config-io.ts";
import { type Arity, type CommandHelp, command, OPS_ENV, OPS_OPTIONS } from "./help.ts";
import { formatQueueTable } from "./mailq-text.ts";

/** The config (validated) and the backend of a running network. */
export async function connect(values: {
  config?: string | undefined;
  backend?: string | undefined;
  "emulator-port"?: string | undefined;
  "data-dir"?: string | undefined;
}): Promise<Mailq> {
  const map = buildAddressMap(await readConfig(values.config));
  return mailq(map, createAwsClients(backendSettings(values)));
}

/** A command on the running network with only the shared options: `run` gets it connected. */
export const opsCommand = (
  spec: CommandHelp<typeof OPS_OPTIONS>,
  arity: Arity,
  run: (q: Mailq, positionals: string[]) => Promise<number>,
) =>
  command(spec, arity, async ({ values, positionals }) => run(await connect(values), positionals));

export const QUEUE_HELP = {
  name: "queue",
  summary: "what the gateways hold: per queue waiting, in flight, delayed, oldest (like mailq)",
  usage: "[--json] [--watch [--interval SECONDS]]",
  description:
    "One row per queue of every gateway (route, deliver, push, their dead-letter queues, intake,\n" +
    "pickup), totals last. Counts are SQS's approximate numbers; `oldest` is the age of the\n" +
    "oldest message the queue holds, read from the mailbag's records (SQS has it only as a\n" +
    "CloudWatch metric). Finds the emulator of a running `mailbag start` in its --data-dir.",
  options: {
    ...OPS_OPTIONS,
    json: { type: "boolean", help: "one JSON document (rows, totals) for scripts" },
    watch: { type: "boolean", short: "w", help: "redraw the table in place every --interval" },
    interval: { type: "string", arg: "SECONDS", help: "redraw interval with --watch (2)" },
  },
  env: OPS_ENV,
  example: "mailbag queue --watch",
} as const satisfies CommandHelp;

export const queue = command(QUEUE_HELP, { max: 0 }, async ({ values }) => {
  const interval = Number(values.interval ?? 2);
  if (!(interval > 0)) throw new UsageError(`--interval: not a number of seconds: ${interval}`);
  const q = await connect(values);
  const done = new Set<string>();
  const render = async () => {
    const now = new Date();
    const snap = await snapshot(q, done);
    if (values.json) {
      const rows = snap.rows
        .filter((r) => r.counts)
        .map((r) => ({
          gateway: r.gateway,
          queue: r.queue,
          name: r.name,
          deadLetter: r.deadLetter,
          ...r.counts,
          oldestAgeSeconds: r.oldest
            ? Math.floor((now.getTime() - r.oldest.getTime()) / 1000)
            : null,
        }));
      const t = queueTotals(snap.rows);
      const totals = {
        ...t,
        oldest: undefined,
        oldestAgeSeconds: t.oldest ? Math.floor((now.getTime() - t.oldest.getTime()) / 1000) : null,
      };
      return `${JSON.stringify({ at: now.toISOString(), rows, totals })}\n`;
    }
    return formatQueueTable(snap.rows, now);
  };
  if (!values.watch) {
    process.stdout.write(await render());
    return 0;
  }
  let stop = false;
  process.once("SIGINT", () => {
    stop = true;
  });
  while (!stop) {
    const text = await render();
    // Home, draw, clear the rest: redrawn in place, no flicker (ECMA-48 CUP and ED).
    process.stdout.write(values.json ? text : `\x1b[H${text.replaceAll("\n", "\x1b[K\n")}\x1b[J`);
    await new Promise((r) => setTimeout(r, interval * 1000));
  }
  return 0;
});
