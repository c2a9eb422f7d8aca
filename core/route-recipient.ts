/**
 * The routing decision: where one recipient goes from one gateway. routeRecipient is the one
 * function that decides; the ingress's RCPT check (ingress-policy.ts), the router
 * (route-message.ts), backbone delivery (backbone.ts) and `mailbag route` (explain-route.ts) all
 * call it, so what is accepted is exactly what can be routed. Rules: docs/routing.md#decision.
 */
import {
  formatNative,
  formatSmtp,
  MS_MAIL_NAME,
  MS_MAIL_NAME_RULE,
  parseSmtpAddress,
  type SmtpAddress,
  toSmtp,
} from "./address.ts";
import { type AddressMap, bestSpace, type CompiledSpace } from "./address-map.ts";
import { gatewayCapabilities } from "./capabilities.ts";
import type { Gateway, Postoffice } from "./config.ts";
import {
  AddressError,
  badMailboxName,
  type MailbagError,
  noReceivingGateway,
  noSuchMailbox,
  relayingDenied,
  unknownGateway,
} from "./errors.ts";

/** A mailbox alias applied on the way: the address as given, and the mailbox it stands for. */
export interface AliasStep {
  readonly from: string;
  readonly to: string;
  /** The config field that holds the alias. */
  readonly field: string;
}

interface Decided {
  /** Short name of the rule that decided, as printed by `mailbag route`. */
  readonly rule: string;
  /** The rule in full: which config field, and why it applies. */
  readonly detail: string;
  readonly alias?: AliasStep | undefined;
}

/** Where one recipient goes from one gateway. `recipient` is the address to carry on with. */
export type Route =
  | (Decided & {
      readonly kind: "inbound";
      readonly postoffice: string;
      readonly gateway: string;
      /** Hub postoffices between the gateway and the postoffice, nearest to the gateway first. */
      readonly hubs: readonly string[];
      readonly recipient: string;
    })
  | (Decided & {
      readonly kind: "backbone";
      readonly gateway: string;
      /** The next gateway; the message is carried to its SMTP ingress (docs/routing.md#backbone). */
      readonly to: string;
      readonly recipient: string;
    })
  | (Decided & {
      readonly kind: "smarthost";
      readonly gateway: string;
      readonly recipient: string;
      /** For a postoffice domain: the gateway the smart host hands it to (its MX). */
      readonly mx?: string | undefined;
    })
  | (Decided & {
      readonly kind: "refuse";
      /** The reply the ingress gives at RCPT, from the catalogue (core/errors.ts). */
      readonly error: MailbagError;
    });

export const refuse = (
  error: MailbagError,
  rule: string,
  detail: string = error.reason,
): Route => ({
  kind: "refuse",
  error,
  rule,
  detail,
});

/**
 * Where a recipient goes, seen from `gatewayId`. Total and deterministic: every input gets
 * exactly one route, computed from the config alone. In order (docs/routing.md#decision):
 *
 * 1. not an RFC 5321 address → refuse (AddressError);
 * 2. a postoffice's domain: its aliases, then its mailbox rules (may refuse: badMailboxName,
 *    noSuchMailbox);
 *    - received by this gateway (directly or through hubs) → its inbound mailbag;
 *    - else the best address space used by this gateway → that gateway (backbone);
 *    - else the smart host, whose MX/hosts table leads to its receiving gateway; none →
 *      noReceivingGateway;
 * 3. any other domain: the best address space used by this gateway → backbone; else the smart
 *    host (a gateway that does not send refuses: relayingDenied).
 */
export function routeRecipient(map: AddressMap, gatewayId: string, address: string): Route {
  const gw = map.gateways.get(gatewayId);
  if (!gw) return refuse(unknownGateway(gatewayId), "unknown gateway");
  let parsed: SmtpAddress;
  try {
    parsed = parseSmtpAddress(address);
  } catch (err) {
    if (err instanceof AddressError) return refuse(err, "address syntax");
    throw err;
  }
  return routeParsed(map, gw, parsed, undefined);
}

function routeParsed(
  map: AddressMap,
  gw: Gateway,
  a: SmtpAddress,
  alias: AliasStep | undefined,
): Route {
  const address = formatSmtp(a);
  const po = map.byDomain.get(a.domain);
  if (!po) {
    const space = bestSpace(map, gw.id, a.domain, undefined);
    if (space) return viaSpace(gw, space, address, alias);
    if (!gatewayCapabilities(gw).sends) {
      return refuse(
        relayingDenied(address, `gateway ${gw.id} only receives for its postoffices`),
        `${gw.id} is receive-only`,
      );
    }
    return {
      kind: "smarthost",
      gateway: gw.id,
      recipient: address,
      rule: `${a.domain} is not in the address map`,
      detail: `no postoffice has the domain ${a.domain} and no address space used by ${gw.id} covers it`,
      alias,
    };
  }
  const key = a.local.toLowerCase();
  const target = alias ? undefined : map.aliases.get(po.id)?.get(key);
  if (target) {
    // Aliases are applied once: the target is a mailbox, never another alias.
    const step: AliasStep = {
      from: address,
      to: formatNative(target),
      field: `postoffices[${indexOf(map, po.id)}].aliases.${key}`,
    };
    return routeParsed(map, gw, toSmtp(map.directory, target), step);
  }
  const mailboxRefusal = checkMailbox(po, a, address);
  if (mailboxRefusal) return { ...mailboxRefusal, alias };
  const recipient = `${a.local.toLowerCase()}@${po.domain}`;
  const receiver = map.receiverOf.get(po.id);
  if (receiver?.id === gw.id) {
    const hubs = hubsOf(map, po, receiver);
    return {
      kind: "inbound",
      postoffice: po.id,
      gateway: gw.id,
      hubs,
      recipient,
      rule:
        hubs.length > 0
          ? `${po.id} via hub ${hubs.join(" → ")}`
          : `postoffice ${po.id} received here`,
      detail:
        hubs.length > 0
          ? `${po.id} is reached via hub ${hubs.join(" → ")} (postoffices[${indexOf(map, po.id)}].via), which ${gw.id} receives for`
          : `${po.id} is listed by ${gw.id} (gateways[${gatewayIndex(map, gw.id)}], mode ${gw.mode})`,
      alias,
    };
  }
  const space = bestSpace(map, gw.id, a.domain, po.id);
  if (space) return viaSpace(gw, space, recipient, alias);
  if (!receiver) {
    return {
      ...refuse(
        noReceivingGateway(`<${recipient}>: postoffice ${po.id} is received by no gateway`),
        `${po.id} received by no gateway`,
      ),
      alias,
    };
  }
  if (!gatewayCapabilities(gw).sends) {
    return {
      ...refuse(
        relayingDenied(
          recipient,
          `gateway ${gw.id} only receives, and ${po.id} is received by ${receiver.id}`,
        ),
        `${gw.id} is receive-only`,
      ),
      alias,
    };
  }
  // No address space: the smart host takes it to the receiving gateway by its MX record or
  // hosts table (seed Q87030), as it would for any other sender. Backbone routes are explicit.
  return {
    kind: "smarthost",
    gateway: gw.id,
    recipient,
    mx: receiver.id,
    rule: `${po.id} is received by ${receiver.id}`,
    detail: `${po.id} is received by ${receiver.id} (gateways[${gatewayIndex(map, receiver.id)}]) and no address space used by ${gw.id} covers it: the smart host's MX record or hosts table points at ${receiver.id}`,
    alias,
  };
}

/** The mailbox rules of a postoffice (docs/routing.md#mailboxes); undefined when accepted. */
function checkMailbox(po: Postoffice, a: SmtpAddress, address: string): Route | undefined {
  if (!MS_MAIL_NAME.test(a.local)) {
    return refuse(
      badMailboxName(
        `<${address}>: '${a.local}' is neither a mailbox name of ${po.id} (${MS_MAIL_NAME_RULE}) nor one of its aliases`,
      ),
      "mailbox name",
    );
  }
  const mailbox = a.local.toUpperCase();
  // RFC 5321 §4.5.1: every domain that receives mail must accept mail for postmaster.
  if (mailbox === "POSTMASTER" || po.unknownMailbox === "accept") return undefined;
  if (po.unknownMailbox === "listed") {
    if (po.mailboxes.includes(mailbox)) return undefined;
    return refuse(
      noSuchMailbox(`<${address}>: no mailbox ${mailbox} on postoffice ${po.id}`),
      `${po.id} accepts listed mailboxes only`,
    );
  }
  return refuse(
    noSuchMailbox(`<${address}>: postoffice ${po.id} receives no SMTP mail for its mailboxes`),
    `${po.id} rejects every mailbox`,
  );
}

/** The hubs between `receiver`'s own listing and `po`, nearest the gateway first. */
function hubsOf(map: AddressMap, po: Postoffice, receiver: Gateway): string[] {
  const hubs: string[] = [];
  let current = po;
  while (current.via && !receiver.postoffices.includes(current.id)) {
    const hub = map.byId.get(current.via);
    if (!hub || hubs.includes(hub.id)) break;
    hubs.unshift(hub.id);
    current = hub;
  }
  return hubs;
}

function viaSpace(
  gw: Gateway,
  space: CompiledSpace,
  recipient: string,
  alias: AliasStep | undefined,
): Route {
  return {
    kind: "backbone",
    gateway: gw.id,
    to: space.gateway,
    recipient,
    rule: `address space ${space.text}`,
    detail: `address space ${space.text} → ${space.gateway} (addressSpaces[${space.index}], cost ${space.cost})`,
    alias,
  };
}

const indexOf = (map: AddressMap, po: string) =>
  map.config.postoffices.findIndex((p) => p.id === po);
const gatewayIndex = (map: AddressMap, gw: string) =>
  map.config.gateways.findIndex((g) => g.id === gw);
