/**
 * The router's work for one accepted message: each recipient goes, per routeRecipient, to a
 * postoffice's inbound mailbag (server-side copy: no bytes through the function; for a push
 * postoffice also a push job), to another
 * gateway (backbone: a delivery job whose next hop is that gateway's SMTP ingress), to the smart
 * host (a delivery job), or is refused (recorded as failed in the message's status). Idempotent,
 * so a retried record does no harm: copies overwrite themselves and each delivery job carries a
 * deduplication id made of the message id and its next hop.
 */
import { parseEnvelope, parseStatus, type RouteJob } from "./envelope.ts";
import { keys, pushGroup } from "./names.ts";
import type { JobQueue, MailbagStore } from "./ports.ts";
import { type AddressMap, routeRecipient } from "./routing.ts";

export interface RouterDeps {
  readonly map: AddressMap;
  readonly store: MailbagStore;
  readonly queue: JobQueue;
  /** The gateway's delivery queue name. */
  readonly deliverQueue: string;
  /** The gateway's push queue name: delivery to postoffices' own servers. */
  readonly pushQueue: string;
  readonly now?: () => Date;
}

export type RouteOutcome =
  | {
      readonly kind: "routed";
      /** Postoffice → recipients put into its inbound mailbag. */
      readonly inbound: Record<string, string[]>;
      /** Recipients for the smart host. */
      readonly outbound: string[];
      /** Next gateway → recipients carried to it. */
      readonly backbone: Record<string, string[]>;
      /** Recipient → the reply that refused it. */
      readonly refused: Record<string, string>;
    }
  /** No envelope: the ingress refused this attempt (4xx) and removed it; nothing to deliver. */
  | { readonly kind: "abandoned" };

const add = (groups: Record<string, string[]>, key: string, rcpt: string) => {
  const list = groups[key] ?? [];
  if (!list.includes(rcpt)) list.push(rcpt);
  groups[key] = list;
};

export async function routeMessage(deps: RouterDeps, job: RouteJob): Promise<RouteOutcome> {
  const raw = await deps.store.getJson(keys.envelope(job.id));
  if (raw === undefined) return { kind: "abandoned" };
  const envelope = parseEnvelope(raw);
  const inbound: Record<string, string[]> = {};
  const hops: Record<string, string[]> = {};
  const refused: Record<string, string> = {};
  for (const rcpt of envelope.rcptTo) {
    const route = routeRecipient(deps.map, envelope.gateway, rcpt);
    if (route.kind === "inbound") add(inbound, route.postoffice, route.recipient);
    else if (route.kind === "backbone") add(hops, route.to, route.recipient);
    else if (route.kind === "smarthost") add(hops, "", route.recipient);
    else refused[rcpt] = `${route.code} ${route.enhanced} ${route.reason}`;
  }
  for (const [postoffice, rcptTo] of Object.entries(inbound)) {
    await deps.store.copy(keys.message(job.id), keys.inbound(postoffice, job.id));
    await deps.store.putJson(keys.inboundEnvelope(postoffice, job.id), { ...envelope, rcptTo });
    // Push postoffices: a job in the postoffice's own FIFO group delivers what was just put
    // into its mailbag, so one postoffice's outage holds up neither another nor outbound mail.
    if (deps.map.byId.get(postoffice)?.inbound) {
      await deps.queue.send(
        deps.pushQueue,
        { v: 1, id: job.id, gateway: envelope.gateway, recipients: rcptTo, postoffice },
        pushGroup(envelope.gateway, postoffice),
        `${job.id}.${postoffice}`,
      );
    }
  }
  if (Object.keys(refused).length > 0) await recordRefused(deps, job.id, refused);
  // One delivery job per next hop, so each is one SMTP transaction (nextHopTransport).
  for (const [hop, recipients] of Object.entries(hops)) {
    await deps.queue.send(
      deps.deliverQueue,
      { v: 1, id: job.id, gateway: envelope.gateway, recipients },
      envelope.gateway,
      hop ? `${job.id}.${hop}` : job.id,
    );
  }
  const { "": outbound = [], ...backbone } = hops;
  return { kind: "routed", inbound, outbound, backbone, refused };
}

/** Refused recipients are failed for good; bounces are built from the status record. */
async function recordRefused(
  deps: RouterDeps,
  id: string,
  refused: Record<string, string>,
): Promise<void> {
  const previous = await deps.store.getJson(keys.status(id));
  const status = previous === undefined ? { id, recipients: {} } : parseStatus(previous);
  const at = (deps.now ?? (() => new Date()))().toISOString();
  for (const [address, reply] of Object.entries(refused)) {
    status.recipients[address] ??= { state: "failed", reply, at, attempts: 1 };
  }
  await deps.store.putJson(keys.status(id), status);
}
