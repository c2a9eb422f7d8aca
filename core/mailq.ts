/**
 * What the gateway holds, as Postfix's `mailq` shows it: the queues of every gateway (found
 * through core/names.ts, so a queue added there shows up here) and, per message, where each
 * recipient stands. Pure: the records are read by functions/shared/mailq-store.ts, the text is
 * laid out by cli/mailq-text.ts.
 *
 * SQS gives counts (visible, in flight, delayed:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html)
 * but not the age of the oldest message (a CloudWatch metric only, and not on the emulators), and
 * a queue cannot be read without taking its messages from the functions. So the age comes from
 * the mailbag's records: message ids are ULIDs (core/ids.ts), their acceptance time.
 */

import type { AddressMap } from "./address-map.ts";
import type { DeliveryStatus, Envelope } from "./envelope.ts";
import { idTime } from "./ids.ts";
import { gatewayResources, intakeQueue, pickupQueue } from "./names.ts";
import { type Route, routeRecipient } from "./route-recipient.ts";

type RecipientStatus = DeliveryStatus["recipients"][string];

export interface QueueRef {
  readonly gateway: string;
  /** `route`, `deliver`, `push`, `route DLQ`, `intake`, `pickup SALES`… */
  readonly queue: string;
  /** The SQS queue name. */
  readonly name: string;
  readonly deadLetter: boolean;
  /** Which stage of a message this queue holds (for the age of its oldest message). */
  readonly stage: string;
}

/**
 * Every queue of the network: each string map of gatewayResources() (queues, deadLetterQueues,
 * and whatever is added there later), each gateway's intake queue, each pickup postoffice's
 * notification queue (at the gateway that receives for it).
 */
export function networkQueues(map: AddressMap): QueueRef[] {
  const { config } = map;
  const refs: QueueRef[] = [];
  for (const gw of config.gateways) {
    for (const [field, value] of Object.entries(gatewayResources(config.prefix, gw.id))) {
      // A single queue (e.g. retryQueue → `retry`): its field name says what it holds.
      if (typeof value === "string" && /Queue$/.test(field)) {
        const role = field.replace(/Queue$/, "");
        refs.push({ gateway: gw.id, queue: role, name: value, deadLetter: false, stage: role });
        continue;
      }
      if (typeof value !== "object" || value === null) continue;
      const deadLetter = /dead/i.test(field);
      for (const [role, name] of Object.entries(value as Record<string, string>)) {
        refs.push({
          gateway: gw.id,
          queue: deadLetter ? `${role} DLQ` : role,
          name,
          deadLetter,
          stage: deadLetter ? `${role}-dlq` : role,
        });
      }
    }
    refs.push({
      gateway: gw.id,
      queue: "intake",
      name: intakeQueue(config.prefix, gw.id),
      deadLetter: false,
      stage: "intake",
    });
  }
  for (const po of config.postoffices) {
    const gw = map.receiverOf.get(po.id);
    if (!gw || po.inbound) continue;
    refs.push({
      gateway: gw.id,
      queue: `pickup ${po.id}`,
      name: pickupQueue(config.prefix, po.id),
      deadLetter: false,
      stage: `pickup ${po.id}`,
    });
  }
  return refs;
}

export interface QueueCounts {
  /** Visible: waiting for a function to take them. */
  readonly waiting: number;
  /** Received by a function and not yet deleted (being worked on, or failed and held back). */
  readonly inFlight: number;
  /** Sent with a delay that has not passed. */
  readonly delayed: number;
}

export interface QueueRow extends QueueRef {
  /** undefined: the queue does not exist on this backend (not deployed, or this gateway's mode has none). */
  readonly counts: QueueCounts | undefined;
  /** Acceptance time of the oldest message this queue holds, from the records. */
  readonly oldest: Date | undefined;
}

/**
 * A recipient's place: what happened to it and where it is. Its last reply, when, and the report
 * (DSN) sent about it come from its status record, once it has one.
 */
export interface Leg extends Partial<Pick<RecipientStatus, "reply" | "at" | "dsn">> {
  readonly recipient: string;
  readonly route: Route;
  readonly state: "delivered" | "failed" | "deferred" | "queued" | "in mailbag" | "picked up";
  /** The stage (queue role) it waits in, when it waits. */
  readonly stage?: string | undefined;
  readonly attempts: number;
}

/** Everything the mailbag knows about one message. */
export interface MessageRecords {
  readonly id: string;
  readonly envelope: Envelope | undefined;
  /** messages/<id>.status.json: smart host, backbone and refused recipients. */
  readonly status: DeliveryStatus | undefined;
  /** Postoffice → messages/<id>.<PO>.status.json (push). */
  readonly pushStatus: Readonly<Record<string, DeliveryStatus>>;
  /** Postoffices whose inbound mailbag still holds a copy. */
  readonly inbound: readonly string[];
  /** Dead-letter queues holding a job of this message. */
  readonly deadLetters: readonly string[];
}

const FINAL = new Set<Leg["state"]>(["delivered", "failed", "picked up"]);

/**
 * Each recipient's route (computed from the config, exactly as the router did) and its state
 * from the status records.
 */
export function messageLegs(map: AddressMap, r: MessageRecords): Leg[] {
  if (!r.envelope) return [];
  const gateway = r.envelope.gateway;
  return r.envelope.rcptTo.map((rcpt): Leg => {
    const route = routeRecipient(map, gateway, rcpt);
    const target = route.kind === "refuse" ? rcpt : route.recipient;
    if (route.kind === "inbound") {
      const po = route.postoffice;
      if (map.byId.get(po)?.inbound) {
        const s = r.pushStatus[po]?.recipients[target];
        if (s) return { recipient: rcpt, route, ...s, stage: "push" };
        return { recipient: rcpt, route, state: "queued", stage: "push", attempts: 0 };
      }
      const waiting = r.inbound.includes(po);
      return {
        recipient: rcpt,
        route,
        state: waiting ? "in mailbag" : "picked up",
        stage: waiting ? `pickup ${po}` : undefined,
        attempts: 0,
      };
    }
    const s = r.status?.recipients[target] ?? r.status?.recipients[rcpt];
    // A deferred recipient with a next attempt waits in the retry queue (core/retry.ts); one
    // without (its next hop unreachable) holds its delivery line.
    const next = (s as { next?: string } | undefined)?.next;
    if (s)
      return {
        recipient: rcpt,
        route,
        ...s,
        stage: s.state === "deferred" && next ? "retry" : "deliver",
      };
    return {
      recipient: rcpt,
      route,
      state: route.kind === "refuse" ? "failed" : "queued",
      stage: "deliver",
      attempts: 0,
    };
  });
}

export const isFinal = (leg: Leg): boolean => FINAL.has(leg.state);

/** The router has left no trace yet: no status, no inbound copy, no push status. */
export function unrouted(r: MessageRecords): boolean {
  return r.status === undefined && r.inbound.length === 0 && Object.keys(r.pushStatus).length === 0;
}

/**
 * Which stages hold each unfinished message, oldest first. A gateway's route queue is one FIFO
 * group worked in order, so the messages still in it are the newest `routeDepth` unrouted ones;
 * older unrouted ones have been routed to the delivery queue and wait there, not yet tried.
 */
export function pendingStages(
  map: AddressMap,
  messages: readonly MessageRecords[],
  routeDepth: Readonly<Record<string, number>>,
): Map<string, { stages: Set<string>; legs: Leg[] }> {
  const out = new Map<string, { stages: Set<string>; legs: Leg[] }>();
  const sorted = [...messages].sort((a, b) => (a.id < b.id ? -1 : 1));
  const unroutedLeft: Record<string, number> = { ...routeDepth };
  for (const m of [...sorted].reverse()) {
    if (!m.envelope) continue;
    const legs = messageLegs(map, m);
    const stages = new Set<string>();
    for (const d of m.deadLetters) stages.add(d);
    if (m.deadLetters.length === 0) {
      const gw = m.envelope.gateway;
      if (unrouted(m) && (unroutedLeft[gw] ?? 0) > 0 && legs.some((l) => !isFinal(l))) {
        unroutedLeft[gw] = (unroutedLeft[gw] ?? 0) - 1;
        stages.add("route");
      } else {
        for (const l of legs) if (!isFinal(l) && l.stage) stages.add(l.stage);
      }
    }
    if (stages.size > 0) out.set(m.id, { stages, legs });
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The oldest message per `gateway|stage`, from pendingStages' result. */
export function oldestByStage(
  pending: ReadonlyMap<string, { stages: Set<string> }>,
  gatewayOf: (id: string) => string | undefined,
): Map<string, Date> {
  const oldest = new Map<string, Date>();
  for (const [id, { stages }] of pending) {
    const gw = gatewayOf(id);
    for (const stage of stages) {
      const key = `${gw}|${stage}`;
      if (!oldest.has(key)) oldest.set(key, new Date(idTime(id)));
    }
  }
  return oldest;
}

export interface QueueTotals extends QueueCounts {
  readonly deadLetters: number;
  readonly oldest: Date | undefined;
}

export function queueTotals(rows: readonly QueueRow[]): QueueTotals {
  let waiting = 0;
  let inFlight = 0;
  let delayed = 0;
  let deadLetters = 0;
  let oldest: Date | undefined;
  for (const r of rows) {
    if (!r.counts) continue;
    waiting += r.counts.waiting;
    inFlight += r.counts.inFlight;
    delayed += r.counts.delayed;
    if (r.deadLetter) deadLetters += r.counts.waiting + r.counts.inFlight + r.counts.delayed;
    if (r.oldest && (!oldest || r.oldest < oldest)) oldest = r.oldest;
  }
  return { waiting, inFlight, delayed, deadLetters, oldest };
}

/** One word for a message: where it stands as a whole. */
export function messageState(map: AddressMap, r: MessageRecords): string {
  if (!r.envelope) return "removed";
  if (r.deadLetters.length > 0) return `dead-lettered (${r.deadLetters.join(", ")})`;
  const legs = messageLegs(map, r);
  const count = (s: Leg["state"]) => legs.filter((l) => l.state === s).length;
  if (legs.every(isFinal)) {
    const failed = count("failed");
    return failed === 0 ? "done" : failed === legs.length ? "failed" : `done, ${failed} failed`;
  }
  const parts = (["delivered", "failed", "deferred", "queued", "in mailbag"] as const)
    .filter((s) => count(s) > 0)
    .map((s) => `${count(s)} ${s}`);
  return `waiting (${parts.join(", ")})`;
}
