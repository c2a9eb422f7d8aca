/**
 * The reads and moves behind `mailbag queue|show|find|flush|redrive|delete`, over SQS and the
 * gateways' mailbag buckets, on any backend (embedded emulator, LocalStack, AWS). The decisions
 * are core/mailq.ts's; this module only fetches and moves.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import type { AddressMap } from "../../core/address-map.ts";
import { parseEnvelope, parseStatus } from "../../core/envelope.ts";
import { MESSAGE_ID_PATTERN } from "../../core/ids.ts";
import {
  isFinal,
  type MessageRecords,
  messageLegs,
  networkQueues,
  oldestByStage,
  pendingStages,
  type QueueCounts,
  type QueueRef,
  type QueueRow,
} from "../../core/mailq.ts";
import { gatewayResources } from "../../core/names.ts";
import type { MailbagStore } from "../../core/ports.ts";
import type { AwsClients } from "./aws.ts";
import { s3Store } from "./s3-store.ts";

export interface Mailq {
  readonly map: AddressMap;
  readonly clients: AwsClients;
  store(gatewayId: string): MailbagStore;
  /** The queue's URL, or undefined when it does not exist on this backend. */
  queueUrl(name: string): Promise<string | undefined>;
}

export function mailq(map: AddressMap, clients: AwsClients): Mailq {
  const urls = new Map<string, Promise<string | undefined>>();
  return {
    map,
    clients,
    store: (gw) => s3Store(clients.s3, gatewayResources(map.config.prefix, gw).bucket),
    queueUrl(name) {
      let url = urls.get(name);
      if (!url) {
        url = clients.sqs.send(new GetQueueUrlCommand({ QueueName: name })).then(
          (r) => r.QueueUrl,
          (err: unknown) => {
            const n = (err as { name?: string }).name ?? "";
            if (/NonExistentQueue|QueueDoesNotExist/.test(n)) return undefined;
            throw err;
          },
        );
        urls.set(name, url);
      }
      return url;
    },
  };
}

export async function queueCounts(q: Mailq, url: string): Promise<QueueCounts> {
  const res = await q.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  const a = res.Attributes ?? {};
  return {
    waiting: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/** A job read from a dead-letter queue. */
export interface DeadLetter {
  readonly queue: QueueRef;
  readonly url: string;
  readonly id: string | undefined;
  readonly body: string;
  readonly groupId: string | undefined;
  readonly receiptHandle: string;
}

/**
 * Reads every job of a dead-letter queue (nothing consumes those) and holds them invisible for
 * `holdSeconds`; `release` makes them visible again at once. Reading is the only way to see
 * which messages a queue holds: SQS has no peek.
 */
export async function readDeadLetters(
  q: Mailq,
  ref: QueueRef,
  url: string,
  holdSeconds = 30,
): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  for (;;) {
    const res = await q.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: holdSeconds,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ["MessageGroupId"],
      }),
    );
    const messages = res.Messages ?? [];
    if (messages.length === 0) return out;
    for (const m of messages) {
      let id: string | undefined;
      try {
        const parsed = JSON.parse(m.Body ?? "") as { id?: unknown };
        id = typeof parsed.id === "string" ? parsed.id : undefined;
      } catch {
        id = undefined;
      }
      out.push({
        queue: ref,
        url,
        id,
        body: m.Body ?? "",
        groupId: m.Attributes?.MessageGroupId,
        receiptHandle: m.ReceiptHandle ?? "",
      });
    }
  }
}

export async function release(q: Mailq, letters: readonly DeadLetter[]): Promise<void> {
  for (let i = 0; i < letters.length; i += 10) {
    const chunk = letters.slice(i, i + 10);
    const url = chunk[0]?.url;
    if (!url) continue;
    await q.clients.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: chunk.map((l, n) => ({
          Id: String(n),
          ReceiptHandle: l.receiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

/** Every dead-lettered job of the network, read and released again. */
export async function allDeadLetters(
  q: Mailq,
  counted?: ReadonlyMap<QueueRef, QueueCounts | undefined>,
): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  for (const ref of networkQueues(q.map).filter((r) => r.deadLetter)) {
    const counts = counted?.get(ref);
    if (counted && (!counts || counts.waiting + counts.inFlight + counts.delayed === 0)) continue;
    const url = await q.queueUrl(ref.name);
    if (!url) continue;
    const letters = await readDeadLetters(q, ref, url);
    await release(q, letters);
    out.push(...letters);
  }
  return out;
}

/** Ids of the messages in a gateway's mailbag (`messages/<id>.envelope.json`), oldest first. */
export async function recordKeys(store: MailbagStore): Promise<{
  ids: string[];
  keys: Set<string>;
  inbound: Map<string, string[]>;
}> {
  const objects = await store.list("messages/");
  const keys = new Set(objects.map((o) => o.key));
  const ids = [
    ...new Set(
      objects
        .map((o) => /^messages\/([0-9A-Z]{26})\./.exec(o.key)?.[1])
        .filter((id): id is string => id !== undefined && MESSAGE_ID_PATTERN.test(id)),
    ),
  ].sort();
  const inbound = new Map<string, string[]>();
  for (const o of await store.list("inbound/")) {
    const m = /^inbound\/([^/]+)\/([0-9A-Z]{26})\.eml$/.exec(o.key);
    if (m?.[1] && m[2]) inbound.set(m[2], [...(inbound.get(m[2]) ?? []), m[1]]);
  }
  return { ids, keys, inbound };
}

/** Reads one message's records from its gateway's mailbag. */
export async function readRecords(
  q: Mailq,
  gatewayId: string,
  id: string,
  known?: { keys: Set<string>; inbound: Map<string, string[]> },
  deadLetters: readonly DeadLetter[] = [],
): Promise<MessageRecords> {
  const store = q.store(gatewayId);
  const listing = known ?? (await recordKeys(store));
  const envelopeRaw = await store.getJson(`messages/${id}.envelope.json`);
  const statusRaw = listing.keys.has(`messages/${id}.status.json`)
    ? await store.getJson(`messages/${id}.status.json`)
    : undefined;
  const pushStatus: Record<string, ReturnType<typeof parseStatus>> = {};
  for (const key of listing.keys) {
    const m = /^messages\/([0-9A-Z]{26})\.([^.]+)\.status\.json$/.exec(key);
    if (m?.[1] !== id || !m[2]) continue;
    const raw = await store.getJson(key);
    if (raw !== undefined) pushStatus[m[2]] = parseStatus(raw);
  }
  return {
    id,
    envelope: envelopeRaw === undefined ? undefined : parseEnvelope(envelopeRaw),
    status: statusRaw === undefined ? undefined : parseStatus(statusRaw),
    pushStatus,
    inbound: listing.inbound.get(id) ?? [],
    deadLetters: deadLetters.filter((d) => d.id === id).map((d) => d.queue.stage),
  };
}

/**
 * Messages whose records say they are finished, by id: finished is final, so `mailbag queue
 * --watch` reads each message's records until it is, and never again.
 */
export type DoneCache = Set<string>;

/** Every message of the network still held somewhere, with its records. */
export async function heldMessages(
  q: Mailq,
  deadLetters: readonly DeadLetter[],
  done: DoneCache = new Set(),
): Promise<{ gateway: string; records: MessageRecords }[]> {
  const out: { gateway: string; records: MessageRecords }[] = [];
  for (const gw of q.map.config.gateways) {
    let listing: Awaited<ReturnType<typeof recordKeys>>;
    try {
      listing = await recordKeys(q.store(gw.id));
    } catch (err) {
      if ((err as { name?: string }).name === "NoSuchBucket") continue;
      throw err;
    }
    for (const id of listing.ids) {
      if (done.has(id)) continue;
      const records = await readRecords(q, gw.id, id, listing, deadLetters);
      if (!records.envelope) continue;
      const legs = messageLegs(q.map, records);
      if (records.deadLetters.length === 0 && legs.every(isFinal)) {
        done.add(id);
        continue;
      }
      out.push({ gateway: gw.id, records });
    }
  }
  return out;
}

export interface Snapshot {
  readonly rows: QueueRow[];
  readonly deadLetters: DeadLetter[];
  readonly held: { gateway: string; records: MessageRecords }[];
}

/** `mailbag queue`: every queue's counts and the age of its oldest message. */
export async function snapshot(q: Mailq, done: DoneCache = new Set()): Promise<Snapshot> {
  const refs = networkQueues(q.map);
  const counts = new Map<QueueRef, QueueCounts | undefined>();
  for (const ref of refs) {
    const url = await q.queueUrl(ref.name);
    counts.set(ref, url ? await queueCounts(q, url) : undefined);
  }
  const deadLetters = await allDeadLetters(q, counts);
  const held = await heldMessages(q, deadLetters, done);
  const routeDepth: Record<string, number> = {};
  for (const [ref, c] of counts) {
    if (ref.stage === "route" && c) routeDepth[ref.gateway] = c.waiting + c.inFlight + c.delayed;
  }
  const pending = pendingStages(
    q.map,
    held.map((h) => h.records),
    routeDepth,
  );
  const gatewayOf = new Map(held.map((h) => [h.records.id, h.gateway]));
  const oldest = oldestByStage(pending, (id) => gatewayOf.get(id));
  const rows = refs.map((ref) => ({
    ...ref,
    counts: counts.get(ref),
    oldest: counts.get(ref) ? oldest.get(`${ref.gateway}|${ref.stage}`) : undefined,
  }));
  return { rows, deadLetters, held };
}

/**
 * Moves dead-lettered jobs back to their source queue. All of one queue: SQS's message move
 * task where the endpoint has it (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html);
 * else, and for one message, receive + send + delete, with a fresh deduplication id (the
 * original's may still be inside SQS's 5-minute deduplication window).
 */
export async function redriveLetters(
  q: Mailq,
  letters: readonly DeadLetter[],
  sourceOf: (dlq: QueueRef) => QueueRef | undefined,
  now: () => number = Date.now,
): Promise<{ moved: DeadLetter[]; viaMoveTask: string[] }> {
  const moved: DeadLetter[] = [];
  for (const l of letters) {
    const source = sourceOf(l.queue);
    const url = source && (await q.queueUrl(source.name));
    if (!url) continue;
    await q.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: l.body,
        MessageGroupId: l.groupId ?? l.queue.gateway,
        MessageDeduplicationId: `${l.id ?? "job"}.redrive.${now()}`,
      }),
    );
    await q.clients.sqs.send(
      new DeleteMessageCommand({ QueueUrl: l.url, ReceiptHandle: l.receiptHandle }),
    );
    moved.push(l);
  }
  return { moved, viaMoveTask: [] };
}

/** StartMessageMoveTask for a whole dead-letter queue; false where the endpoint lacks it. */
export async function startMoveTask(q: Mailq, dlqUrl: string): Promise<string | false> {
  const arn = await q.clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }),
  );
  const source = arn.Attributes?.QueueArn;
  if (!source) return false;
  try {
    const res = await q.clients.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: source }));
    return res.TaskHandle ?? "started";
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    // Emulators answer an unknown action with 400 InvalidAction/UnsupportedOperation or 501.
    if (
      /InvalidAction|UnsupportedOperation|NotImplemented|UnknownOperation/i.test(e.name ?? "") ||
      e.$metadata?.httpStatusCode === 501
    )
      return false;
    throw err;
  }
}

/** Deletes dead-lettered jobs (`mailbag delete`). */
export async function deleteLetters(q: Mailq, letters: readonly DeadLetter[]): Promise<void> {
  for (const l of letters) {
    await q.clients.sqs.send(
      new DeleteMessageCommand({ QueueUrl: l.url, ReceiptHandle: l.receiptHandle }),
    );
  }
}
