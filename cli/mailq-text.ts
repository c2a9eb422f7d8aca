/**
 * The text `mailbag queue`, `mailbag show` and `mailbag start` print about what the gateway
 * holds, as Postfix's `mailq` shows it. The facts (queues, totals, each recipient's leg) are
 * computed in core/mailq.ts; this module only lays them out.
 */
import type { AddressMap } from "../core/address-map.ts";
import {
  type Leg,
  type MessageRecords,
  messageLegs,
  messageState,
  type QueueRow,
  queueTotals,
} from "../core/mailq.ts";

/** `3s`, `4m05s`, `2h03m`, `3d04h`: an age as mailq readers scan it. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${pad(Math.floor((s % 86400) / 3600))}h`;
}

/** The table `mailbag queue` prints: one row per existing queue, totals last. */
export function formatQueueTable(rows: readonly QueueRow[], now: Date): string {
  const head = ["gateway", "queue", "waiting", "in flight", "delayed", "oldest", "sqs name"];
  const age = (d: Date | undefined) => (d ? formatAge(now.getTime() - d.getTime()) : "-");
  const body = rows
    .filter((r) => r.counts)
    .map((r) => [
      r.gateway,
      r.queue,
      String(r.counts?.waiting ?? 0),
      String(r.counts?.inFlight ?? 0),
      String(r.counts?.delayed ?? 0),
      age(r.oldest),
      r.name,
    ]);
  const t = queueTotals(rows);
  body.push([
    "total",
    `${t.deadLetters} dead-lettered`,
    String(t.waiting),
    String(t.inFlight),
    String(t.delayed),
    age(t.oldest),
    "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const numeric = new Set([2, 3, 4]);
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return `${[line(head), ...body.map(line)].join("\n")}\n`;
}

/** One line for `mailbag start`: how much mail is waiting. */
export function waitingSummary(rows: readonly QueueRow[], now: Date): string {
  const t = queueTotals(rows);
  const held = t.waiting + t.inFlight + t.delayed;
  if (held === 0) return "no mail waiting in the queues";
  const age = t.oldest ? `, oldest ${formatAge(now.getTime() - t.oldest.getTime())}` : "";
  const dead = t.deadLetters > 0 ? ` (${t.deadLetters} in dead-letter queues)` : "";
  return `${held} message job(s) waiting in the queues${dead}${age}; see mailbag queue`;
}

function routeText(leg: Leg): string {
  const r = leg.route;
  switch (r.kind) {
    case "inbound":
      return `postoffice ${r.postoffice}${r.hubs.length > 0 ? ` via ${r.hubs.join(", ")}` : ""}`;
    case "backbone":
      return `backbone to gateway ${r.to}`;
    case "smarthost":
      return "smart host";
    default:
      return "refused";
  }
}

function whereText(leg: Leg, r: MessageRecords): string {
  if (leg.state === "delivered") return "delivered";
  if (leg.state === "failed") return leg.dsn ? `failed; bounce ${leg.dsn}` : "failed";
  if (leg.state === "picked up") return "picked up by its postoffice";
  if (r.deadLetters.length > 0) return `dead-letter queue (${r.deadLetters.join(", ")})`;
  if (leg.state === "in mailbag") return `inbound mailbag, waiting for pickup (${leg.stage})`;
  return `${leg.stage} queue`;
}

/** `mailbag show`: the envelope, then one block per recipient. */
export function formatMessage(map: AddressMap, r: MessageRecords): string {
  const e = r.envelope;
  if (!e) return `${r.id}: no envelope (removed, or refused before it was queued)\n`;
  const client = `${e.client.address} (HELO ${e.client.helo}${e.client.tls ? ", TLS" : ""}${
    e.client.user ? `, user ${e.client.user}` : ""
  })`;
  const out = [
    `message   ${r.id}`,
    `state     ${messageState(map, r)}`,
    `gateway   ${e.gateway}`,
    `received  ${e.receivedAt} from ${client}`,
    `size      ${e.size} bytes, sha256 ${e.sha256.slice(0, 16)}…`,
    `from      <${e.mailFrom}>`,
    `to        ${e.rcptTo.map((t) => `<${t}>`).join(", ")}`,
    "",
  ];
  for (const leg of messageLegs(map, r)) {
    const alias = leg.route.kind !== "refuse" && leg.route.recipient !== leg.recipient;
    out.push(`<${leg.recipient}>${alias ? ` → <${leg.route.recipient}>` : ""}`);
    out.push(`  route     ${routeText(leg)} (rule: ${leg.route.rule})`);
    out.push(
      `  state     ${leg.state}, ${leg.attempts} attempt(s)${leg.at ? `, last ${leg.at}` : ""}`,
    );
    if (leg.reply) out.push(`  reply     ${leg.reply}`);
    out.push(`  where     ${whereText(leg, r)}`);
  }
  return `${out.join("\n")}\n`;
}
