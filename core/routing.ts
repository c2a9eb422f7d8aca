/**
 * The address map and the routing decision. One function decides where a recipient goes;
 * the ingress's RCPT check and the router function both call it, so what is accepted is
 * exactly what can be routed.
 */
import type { Config, Gateway, Postoffice } from "./config.ts";
import { networkMatcher } from "./config.ts";
import { PolicyRejectionError, SyntaxRejectionError } from "./errors.ts";

export interface AddressMap {
  readonly config: Config;
  readonly byDomain: ReadonlyMap<string, Postoffice>;
  readonly byId: ReadonlyMap<string, Postoffice>;
  readonly gateways: ReadonlyMap<string, Gateway>;
  /** Postoffice id → the gateway that receives SMTP mail for it. */
  readonly receiverOf: ReadonlyMap<string, Gateway>;
  /** Postoffice id → whether a client address may submit for it. */
  readonly submitNetworks: ReadonlyMap<string, (ip: string) => boolean>;
}

export function buildAddressMap(config: Config): AddressMap {
  const receiverOf = new Map<string, Gateway>();
  for (const gw of config.gateways) {
    if (gw.mode === "send") continue;
    for (const po of gw.postoffices) receiverOf.set(po, gw);
  }
  return {
    config,
    byDomain: new Map(config.postoffices.map((po) => [po.domain, po])),
    byId: new Map(config.postoffices.map((po) => [po.id, po])),
    gateways: new Map(config.gateways.map((gw) => [gw.id, gw])),
    receiverOf,
    submitNetworks: new Map(
      config.postoffices.map((po) => [po.id, networkMatcher(po.submit.networks)]),
    ),
  };
}

export interface MailboxAddress {
  readonly local: string;
  /** Lower-case: domains compare case-insensitively (RFC 5321 §2.4); local parts do not. */
  readonly domain: string;
}

/** Splits `local@domain` at the last `@`. Source routes and quoting were handled by smtp-server. */
export function parseMailbox(address: string): MailboxAddress {
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) {
    throw new SyntaxRejectionError(`Invalid address <${address}>: expected local-part@domain`);
  }
  return { local: address.slice(0, at), domain: address.slice(at + 1).toLowerCase() };
}

export type Route =
  | { readonly kind: "inbound"; readonly postoffice: string; readonly gateway: string }
  | { readonly kind: "smarthost" };

/**
 * Where a recipient goes, seen from `gatewayId`: the inbound mailbag of a postoffice this
 * gateway receives for, or the smart host for every other domain. Total: every syntactically
 * valid address gets a route.
 */
export function routeRecipient(map: AddressMap, gatewayId: string, address: string): Route {
  const { domain } = parseMailbox(address);
  const po = map.byDomain.get(domain);
  const receiver = po ? map.receiverOf.get(po.id) : undefined;
  if (po && receiver?.id === gatewayId)
    return { kind: "inbound", postoffice: po.id, gateway: gatewayId };
  return { kind: "smarthost" };
}

export interface ClientIdentity {
  readonly address: string;
  /** The postoffice whose credentials the client authenticated with, if any. */
  readonly authenticatedPostoffice?: string | undefined;
}

/**
 * MAIL FROM: which postoffice (if any) this transaction submits for, through `gatewayId`.
 * An authenticated client may only use its own postoffice's domain (553 5.7.1 otherwise);
 * an unauthenticated one submits when its address is in the sender postoffice's networks.
 */
export function submittingPostoffice(
  map: AddressMap,
  gatewayId: string,
  mailFrom: string,
  client: ClientIdentity,
): string | undefined {
  const gw = map.gateways.get(gatewayId);
  const sendsFor = (id: string) =>
    gw !== undefined && gw.mode !== "receive" && gw.postoffices.includes(id);
  if (mailFrom === "") {
    // Null sender (bounces from a postoffice): whoever the client is allowed to speak for.
    if (client.authenticatedPostoffice) return client.authenticatedPostoffice;
    return gw?.postoffices.find(
      (id) => sendsFor(id) && map.submitNetworks.get(id)?.(client.address),
    );
  }
  const po = map.byDomain.get(parseMailbox(mailFrom).domain);
  if (client.authenticatedPostoffice) {
    if (po?.id !== client.authenticatedPostoffice) {
      throw new PolicyRejectionError(
        553,
        "5.7.1",
        `Sender address <${mailFrom}> not owned by authenticated user`,
      );
    }
    return sendsFor(po.id) ? po.id : undefined;
  }
  if (po && sendsFor(po.id) && map.submitNetworks.get(po.id)?.(client.address)) return po.id;
  return undefined;
}

/**
 * RCPT TO: accept mail for postoffices this gateway receives for from anyone; anything else only
 * from a client submitting for one of its postoffices. Everything else is relaying: refused
 * (RFC 5321 §3.9, no open relay; 550 5.7.1 as Postfix's reject_unauth_destination does).
 */
export function acceptRecipient(
  map: AddressMap,
  gatewayId: string,
  address: string,
  submitter: string | undefined,
): Route {
  const route = routeRecipient(map, gatewayId, address);
  if (route.kind === "inbound" || submitter !== undefined) return route;
  throw new PolicyRejectionError(550, "5.7.1", `Relaying denied for <${address}>`);
}
