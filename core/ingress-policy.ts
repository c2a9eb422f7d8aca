/**
 * The SMTP submission policy of the ingress: which postoffice a client submits for (MAIL FROM)
 * and which recipients it may give (RCPT TO). No open relay: RFC 5321 §3.9.
 */
import { parseSmtpAddress } from "./address.ts";
import type { AddressMap } from "./address-map.ts";
import { spaceMatches } from "./address-space.ts";
import { relayingDenied, senderNotOwned } from "./errors.ts";
import { type Route, routeRecipient } from "./route-recipient.ts";

export interface ClientIdentity {
  readonly address: string;
  /** The postoffice whose credentials the client authenticated with, if any. */
  readonly authenticatedPostoffice?: string | undefined;
}

/**
 * MAIL FROM: which postoffice (if any) this transaction submits for, through `gatewayId`.
 * An authenticated client may only use its own postoffice's domain (senderNotOwned otherwise);
 * an unauthenticated one submits when its address is in the sender postoffice's networks.
 */
export function submittingPostoffice(
  map: AddressMap,
  gatewayId: string,
  mailFrom: string,
  client: ClientIdentity,
): string | undefined {
  const sendsFor = (id: string) => map.senderOf.get(id)?.id === gatewayId;
  if (mailFrom === "") {
    // Null sender (bounces from a postoffice): whoever the client is allowed to speak for.
    if (client.authenticatedPostoffice) return client.authenticatedPostoffice;
    return map.config.postoffices.find(
      (po) => sendsFor(po.id) && map.submitNetworks.get(po.id)?.(client.address),
    )?.id;
  }
  const po = map.byDomain.get(parseSmtpAddress(mailFrom).domain);
  if (client.authenticatedPostoffice) {
    if (po?.id !== client.authenticatedPostoffice) throw senderNotOwned(mailFrom);
    return sendsFor(po.id) ? po.id : undefined;
  }
  if (po && sendsFor(po.id) && map.submitNetworks.get(po.id)?.(client.address)) return po.id;
  return undefined;
}

/** Whether an address space used by another gateway carries this address here. */
function carriedHere(map: AddressMap, gatewayId: string, address: string): boolean {
  const { domain } = parseSmtpAddress(address);
  const po = map.byDomain.get(domain)?.id;
  return map.spaces.some((s) => s.gateway === gatewayId && spaceMatches(s.pattern, domain, po));
}

/**
 * RCPT TO: accept what this gateway is meant to take: mail for the postoffices it receives for,
 * and what another gateway's address space carries here, from anyone; anything else only from a
 * client submitting for one of its postoffices. The rest is relaying: refused
 * (RFC 5321 §3.9, no open relay: relayingDenied, as Postfix's reject_unauth_destination does).
 */
export function acceptRecipient(
  map: AddressMap,
  gatewayId: string,
  address: string,
  submitter: string | undefined,
): Route {
  const route = routeRecipient(map, gatewayId, address);
  if (route.kind === "refuse") throw route.error;
  if (route.kind === "inbound" || submitter !== undefined) return route;
  if (carriedHere(map, gatewayId, address)) return route;
  throw relayingDenied(address);
}
