/**
 * `mailbag show <id>` and `mailbag find --from/--to --since`: one message's fate, as an admin
 * looks it up in Postfix's logs or Exchange's queue viewer, from the mailbag's records.
 */
import { queuedReply } from "../core/errors.ts";
import { idTime, newMessageId } from "../core/ids.ts";
import { type MessageRecords, messageState } from "../core/mailq.ts";
import {
  allDeadLetters,
  type Mailq,
  readRecords,
  recordKeys,
} from "../functions/shared/mailq-store.ts";
import { UsageError } from "./common.ts";
import { type CommandHelp, command, OPS_ENV, OPS_OPTIONS } from "./help.ts";
import { formatMessage } from "./mailq-text.ts";
import { connect } from "./queue.ts";

/** Every message id of the network starting with `prefix` (case-insensitive), per gateway. */
export async function findIds(
  q: Mailq,
  prefix: string,
): Promise<{ gateway: string; id: string }[]> {
  const want = prefix.toUpperCase();
  const out: { gateway: string; id: string }[] = [];
  for (const gw of q.map.config.gateways) {
    const objects = await q
      .store(gw.id)
      .list(`messages/${want}`)
      .catch(() => []);
    const ids = new Set(
      objects
        .map((o) => /^messages\/([0-9A-Z]{26})\.envelope\.json$/.exec(o.key)?.[1])
        .filter((id): id is string => id !== undefined),
    );
    for (const id of ids) out.push({ gateway: gw.id, id });
  }
  return out;
}

/** The one message an id prefix names; a usage error if none or several. */
export async function resolveId(
  q: Mailq,
  prefix: string,
): Promise<{ gateway: string; id: string }> {
  if (!/^[0-9A-Za-z]{4,26}$/.test(prefix))
    throw new UsageError(`not a message id (or a prefix of at least 4 characters): ${prefix}`);
  const found = await findIds(q, prefix);
  const [first, second] = found;
  if (!first) throw new UsageError(`no message ${prefix}`);
  if (second)
    throw new UsageError(
      `${prefix} names ${found.length} messages: ${found.map((f) => f.id).join(", ")}`,
    );
  return first;
}

export const SHOW_HELP = {
  name: "show",
  summary: "one message: envelope, routing, each recipient's state, attempts, last reply, where",
  usage: "<id or id prefix>",
  description:
    `The id is the one the ingress answered (\`250 ${queuedReply("<id>")}\`) and every log line\n` +
    "carries. Routing decisions are computed from the config as the router did; states and\n" +
    "replies come from the status records; `where` names the queue or dead-letter queue.",
  options: OPS_OPTIONS,
  env: OPS_ENV,
  example: "mailbag show 01HV3K",
} as const satisfies CommandHelp;

export const show = command(SHOW_HELP, { min: 1, max: 1 }, async ({ values, positionals }) => {
  const [prefix = ""] = positionals;
  const q = await connect(values);
  const { gateway, id } = await resolveId(q, prefix);
  const letters = await allDeadLetters(q);
  const records = await readRecords(q, gateway, id, undefined, letters);
  process.stdout.write(formatMessage(q.map, records));
  return 0;
});

export const FIND_HELP = {
  name: "find",
  summary: "messages by sender or recipient since a time, with their state",
  usage: "[--from ADDR] [--to ADDR] [--since 2h]",
  description:
    "Addresses match case-insensitively, a bare domain (@example.com or example.com) matches\n" +
    "every address in it. --since takes 30m, 2h, 3d or an ISO time (default 24h).",
  options: {
    ...OPS_OPTIONS,
    from: { type: "string", arg: "ADDR", help: "envelope sender (MAIL FROM)" },
    to: { type: "string", arg: "ADDR", help: "an envelope recipient (RCPT TO)" },
    since: { type: "string", arg: "AGE", help: "only messages accepted since then (24h)" },
  },
  env: OPS_ENV,
  example: "mailbag find --to someone@partner.test --since 2h",
} as const satisfies CommandHelp;

/** `30m`, `2h`, `3d` or an ISO date → a time. */
export function parseSince(text: string, now: number): number {
  const m = /^(\d+)([smhd])$/.exec(text);
  if (m?.[1] && m[2]) {
    const unit = { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[m[2] as "s" | "m" | "h" | "d"];
    return now - Number(m[1]) * unit;
  }
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`--since: 30m, 2h, 3d or an ISO time, not ${text}`);
  return t;
}

function matcher(wanted: string | undefined): (address: string) => boolean {
  if (wanted === undefined) return () => true;
  const w = wanted.toLowerCase();
  const domain = w.startsWith("@") ? w.slice(1) : w.includes("@") ? undefined : w;
  return (a) => {
    const x = a.toLowerCase();
    return domain ? x.endsWith(`@${domain}`) : x === w;
  };
}

export const find = command(FIND_HELP, { max: 0 }, async ({ values }) => {
  const since = parseSince(values.since ?? "24h", Date.now());
  const q = await connect(values);
  const from = matcher(values.from);
  const to = matcher(values.to);
  const letters = await allDeadLetters(q);
  // Ids are ULIDs: a listing that starts after the id of `since` skips everything older.
  const floor = newMessageId(since).slice(0, 10);
  const rows: string[] = [];
  for (const gw of q.map.config.gateways) {
    const listing = await recordKeys(q.store(gw.id)).catch(() => undefined);
    if (!listing) continue;
    const ids = listing.ids.filter((id) => id.slice(0, 10) >= floor && idTime(id) >= since);
    for (const id of ids) {
      const r: MessageRecords = await readRecords(q, gw.id, id, listing, letters);
      const e = r.envelope;
      if (!e || !from(e.mailFrom) || !e.rcptTo.some(to)) continue;
      rows.push(
        `${id}  ${e.receivedAt}  ${gw.id}  <${e.mailFrom}> → ${e.rcptTo.join(", ")}  ${messageState(q.map, r)}`,
      );
    }
  }
  process.stdout.write(rows.length > 0 ? `${rows.join("\n")}\n` : "no matching messages\n");
  return 0;
});
