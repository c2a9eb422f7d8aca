/**
 * Steering the queues, as Postfix's `postqueue -f` and `postsuper -r/-d` do: `mailbag flush`,
 * `mailbag redrive`, `mailbag delete`. Each prints what it did, one line per message.
 *
 * All three rely on one property of delivery (core/deliver.ts): a recipient already delivered
 * or failed is never tried again, so a job that arrives for a settled message is a no-op. That
 * makes "send a fresh job now" safe whatever older job is still held or delayed somewhere.
 */
import { isFinal, type Leg, type MessageRecords, messageLegs } from "../core/mailq.ts";
import { gatewayResources, keys, pushGroup } from "../core/names.ts";
import {
  type DeadLetter,
  deleteLetters,
  heldMessages,
  type Mailq,
  readDeadLetters,
  readRecords,
  redriveLetters,
  release,
  startMoveTask,
} from "../functions/shared/mailq-store.ts";
import { type CommandHelp, command, OPS_ENV, OPS_OPTIONS } from "./help.ts";
import { connect, opsCommand } from "./queue.ts";
import { resolveId } from "./show.ts";

/** A fresh delivery job: its own message group, so it does not wait behind the held one. */
interface FreshJob {
  readonly queue: string;
  readonly body: { v: 1; id: string; gateway: string; recipients: string[]; postoffice?: string };
  readonly groupId: string;
  readonly label: string;
}

/** One job per next hop (as the router makes them) for the legs not yet settled. */
export function freshJobs(q: Mailq, r: MessageRecords, legs: readonly Leg[]): FreshJob[] {
  const gw = r.envelope?.gateway;
  if (!gw) return [];
  const names = gatewayResources(q.map.config.prefix, gw);
  const hops = new Map<string, FreshJob>();
  for (const leg of legs) {
    if (isFinal(leg) || leg.state === "in mailbag") continue;
    const route = leg.route;
    let key: string;
    let job: Omit<FreshJob, "body"> & { postoffice?: string };
    if (route.kind === "inbound") {
      key = `push:${route.postoffice}`;
      job = {
        queue: names.queues.push,
        groupId: `${pushGroup(gw, route.postoffice)}.flush`,
        label: `postoffice ${route.postoffice} (push)`,
        postoffice: route.postoffice,
      };
    } else if (route.kind === "backbone") {
      key = `hop:${route.to}`;
      job = { queue: names.queues.deliver, groupId: `${gw}.flush`, label: `gateway ${route.to}` };
    } else if (route.kind === "smarthost") {
      key = "hop:";
      job = { queue: names.queues.deliver, groupId: `${gw}.flush`, label: "the smart host" };
    } else continue;
    const existing = hops.get(key);
    if (existing) {
      existing.body.recipients.push(route.recipient);
      continue;
    }
    const { postoffice, ...rest } = job;
    hops.set(key, {
      ...rest,
      body: {
        v: 1,
        id: r.id,
        gateway: gw,
        recipients: [route.recipient],
        ...(postoffice ? { postoffice } : {}),
      },
    });
  }
  return [...hops.values()];
}

async function sendFresh(q: Mailq, job: FreshJob, tag: string): Promise<void> {
  const { SendMessageCommand } = await import("@aws-sdk/client-sqs");
  const url = await q.queueUrl(job.queue);
  if (!url) throw new Error(`queue ${job.queue} does not exist`);
  await q.clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: JSON.stringify(job.body),
      MessageGroupId: job.groupId,
      MessageDeduplicationId: `${job.body.id}.${job.body.postoffice ?? ""}.${tag}.${Date.now()}`,
    }),
  );
}

export const FLUSH_HELP = {
  name: "flush",
  summary: "retry deferred mail now (like postqueue -f)",
  usage: "[<id or prefix>]",
  description:
    "For every message (or the one named) with recipients not yet delivered: a fresh delivery\n" +
    "job per next hop, sent now in its own message group, so it does not wait for the held\n" +
    "job's retry delay. The older job, when it comes back, finds those recipients settled and\n" +
    "does nothing. Dead-lettered messages are left to `mailbag redrive`.",
  options: OPS_OPTIONS,
  env: OPS_ENV,
  example: "mailbag flush",
} as const satisfies CommandHelp;

export const flush = opsCommand(FLUSH_HELP, { max: 1 }, async (q, positionals) => {
  let held: MessageRecords[];
  if (positionals[0]) {
    const { gateway, id } = await resolveId(q, positionals[0]);
    held = [await readRecords(q, gateway, id)];
  } else {
    held = (await heldMessages(q, [])).map((h) => h.records);
  }
  let jobs = 0;
  for (const r of held) {
    for (const job of freshJobs(q, r, messageLegs(q.map, r))) {
      await sendFresh(q, job, "flush");
      jobs++;
      process.stdout.write(
        `mailbag: ${r.id}: ${job.body.recipients.length} recipient(s) to ${job.label}, retried now\n`,
      );
    }
  }
  process.stdout.write(`mailbag: flushed ${jobs} delivery job(s)\n`);
  return 0;
});

/** Every dead-letter queue of the network with its jobs, held invisible while we act. */
async function deadLetterQueues(q: Mailq): Promise<{ url: string; letters: DeadLetter[] }[]> {
  const { networkQueues } = await import("../core/mailq.ts");
  const out: { url: string; letters: DeadLetter[] }[] = [];
  for (const ref of networkQueues(q.map).filter((r) => r.deadLetter)) {
    const url = await q.queueUrl(ref.name);
    if (url) out.push({ url, letters: await readDeadLetters(q, ref, url, 60) });
  }
  return out;
}

export const REDRIVE_HELP = {
  name: "redrive",
  summary: "move dead-lettered jobs back to their queue: all, or one message's",
  usage: "[<id or prefix>]",
  description:
    "All: SQS's message move task where the endpoint has it (AWS, LocalStack), else receive +\n" +
    "send + delete; one message: always the latter. A job moved back is delivered once: the\n" +
    "recipients already settled are skipped.",
  options: OPS_OPTIONS,
  env: OPS_ENV,
  example: "mailbag redrive 01HV3K",
} as const satisfies CommandHelp;

export const redrive = opsCommand(REDRIVE_HELP, { max: 1 }, async (q, positionals) => {
  const id = positionals[0] ? (await resolveId(q, positionals[0])).id : undefined;
  const { networkQueues } = await import("../core/mailq.ts");
  const refs = networkQueues(q.map);
  const sourceOf = (dlq: DeadLetter["queue"]) =>
    refs.find((r) => r.gateway === dlq.gateway && !r.deadLetter && `${r.stage}-dlq` === dlq.stage);
  let moved = 0;
  for (const { url, letters } of await deadLetterQueues(q)) {
    if (letters.length === 0) continue;
    const wanted = id ? letters.filter((l) => l.id === id) : letters;
    const rest = letters.filter((l) => !wanted.includes(l));
    if (!id) {
      await release(q, letters);
      const task = await startMoveTask(q, url);
      if (task !== false) {
        moved += letters.length;
        process.stdout.write(
          `mailbag: ${letters[0]?.queue.name}: message move task ${task} started for ${letters.length} job(s)\n`,
        );
        continue;
      }
      // No move task here: hold them again and move them one by one.
      const ref = letters[0]?.queue;
      const again = ref ? await readDeadLetters(q, ref, url, 60) : [];
      wanted.splice(0, wanted.length, ...again);
      rest.splice(0);
    } else {
      await release(q, rest);
    }
    const result = await redriveLetters(q, wanted, sourceOf);
    for (const l of result.moved) {
      moved++;
      process.stdout.write(
        `mailbag: ${l.id ?? "(unreadable job)"}: ${l.queue.name} → ${sourceOf(l.queue)?.name}\n`,
      );
    }
  }
  process.stdout.write(`mailbag: redrove ${moved} job(s)${id ? ` of ${id}` : ""}\n`);
  return 0;
});

export const DELETE_HELP = {
  name: "delete",
  summary: "remove a message everywhere it lies (like postsuper -d)",
  usage: "<id or prefix> [--no-bounce]",
  description:
    "Removes the message, its envelope and its postoffice copies from the mailbag and its jobs\n" +
    'from the dead-letter queues; its recipients not yet delivered are marked failed ("deleted\n' +
    'by the administrator"), so any job still queued for it finds nothing to do. The status\n' +
    "records stay, so `mailbag show` can tell what happened. Bounces to the sender are issue 9's\n" +
    "DSN work: until it lands, --no-bounce is the only behaviour and is said so.",
  options: {
    ...OPS_OPTIONS,
    "no-bounce": {
      type: "boolean",
      help: "do not send the sender a bounce for pending recipients",
    },
  },
  env: OPS_ENV,
  example: "mailbag delete 01HV3K --no-bounce",
} as const satisfies CommandHelp;

export const DELETED_REPLY = "deleted by the administrator (mailbag delete)";

export const remove = command(DELETE_HELP, { min: 1, max: 1 }, async ({ values, positionals }) => {
  const [prefix = ""] = positionals;
  const q = await connect(values);
  const { gateway, id } = await resolveId(q, prefix);
  const store = q.store(gateway);
  const r = await readRecords(q, gateway, id);
  const at = new Date().toISOString();
  const pending = messageLegs(q.map, r).filter((l) => !isFinal(l));
  // Tombstones first: a job that arrives between here and the removal finds nothing pending.
  const status = r.status ?? { id, recipients: {} };
  const pushStatus: Record<string, typeof status> = { ...r.pushStatus };
  for (const leg of pending) {
    const route = leg.route;
    const target = route.kind === "refuse" ? leg.recipient : route.recipient;
    const entry = {
      state: "failed" as const,
      reply: DELETED_REPLY,
      at,
      attempts: leg.attempts || 1,
    };
    if (route.kind === "inbound") {
      const s = pushStatus[route.postoffice] ?? { id, recipients: {} };
      s.recipients[target] = entry;
      pushStatus[route.postoffice] = s;
    } else status.recipients[target] = entry;
  }
  await store.putJson(keys.status(id), status);
  for (const [po, s] of Object.entries(pushStatus)) await store.putJson(keys.pushStatus(po, id), s);
  const objects = [
    keys.message(id),
    keys.envelope(id),
    ...q.map.config.postoffices.flatMap((po) => [
      keys.inbound(po.id, id),
      keys.inboundEnvelope(po.id, id),
    ]),
  ];
  await store.delete(objects);
  process.stdout.write(
    `mailbag: ${id}: ${pending.length} pending recipient(s) marked failed; message, envelope and postoffice copies removed from ${gateway}'s mailbag\n`,
  );
  let dropped = 0;
  for (const { letters } of await deadLetterQueues(q)) {
    const mine = letters.filter((l) => l.id === id);
    await deleteLetters(q, mine);
    await release(
      q,
      letters.filter((l) => l.id !== id),
    );
    for (const l of mine)
      process.stdout.write(`mailbag: ${id}: job removed from ${l.queue.name}\n`);
    dropped += mine.length;
  }
  if (!values["no-bounce"] && pending.length > 0)
    process.stdout.write(
      `mailbag: ${id}: no bounce sent: DSNs are not built yet (issue 9); the sender is not told\n`,
    );
  process.stdout.write(`mailbag: deleted ${id} (${dropped} dead-lettered job(s) removed)\n`);
  return 0;
});
