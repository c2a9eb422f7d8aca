/**
 * The router's work for one accepted message: each recipient goes, per the address map, to a
 * postoffice's inbound mailbag (server-side copy: no bytes through the function) or to the
 * delivery queue. Idempotent, so a retried record does no harm: copies overwrite themselves and
 * the delivery job carries the message id as its deduplication id.
 */
import { parseEnvelope, type RouteJob } from "./envelope.ts";
import { keys } from "./names.ts";
import type { JobQueue, MailbagStore } from "./ports.ts";
import { type AddressMap, routeRecipient } from "./routing.ts";

export interface RouterDeps {
  readonly map: AddressMap;
  readonly store: MailbagStore;
  readonly queue: JobQueue;
  /** The gateway's delivery queue name. */
  readonly deliverQueue: string;
}

export type RouteOutcome =
  | {
      readonly kind: "routed";
      readonly inbound: Record<string, string[]>;
      readonly outbound: string[];
    }
  /** No envelope: the ingress refused this attempt (4xx) and removed it; nothing to deliver. */
  | { readonly kind: "abandoned" };

export async function routeMessage(deps: RouterDeps, job: RouteJob): Promise<RouteOutcome> {
  const raw = await deps.store.getJson(keys.envelope(job.id));
  if (raw === undefined) return { kind: "abandoned" };
  const envelope = parseEnvelope(raw);
  const inbound: Record<string, string[]> = {};
  const outbound: string[] = [];
  for (const rcpt of envelope.rcptTo) {
    const route = routeRecipient(deps.map, envelope.gateway, rcpt);
    if (route.kind === "inbound") inbound[route.postoffice] = [...(inbound[route.postoffice] ?? []), rcpt];
    else outbound.push(rcpt);
  }
  for (const [postoffice, rcptTo] of Object.entries(inbound)) {
    await deps.store.copy(keys.message(job.id), keys.inbound(postoffice, job.id));
    await deps.store.putJson(keys.inboundEnvelope(postoffice, job.id), { ...envelope, rcptTo });
  }
  if (outbound.length > 0) {
    await deps.queue.send(
      deps.deliverQueue,
      { v: 1, id: job.id, gateway: envelope.gateway, recipients: outbound },
      envelope.gateway,
      job.id,
    );
  }
  return { kind: "routed", inbound, outbound };
}
