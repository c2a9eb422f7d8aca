/**
 * The address map and the routing decision. One function, routeRecipient, decides where a
 * recipient goes from a given gateway; the ingress's RCPT check (acceptRecipient) and the router
 * function both call it, so what is accepted is exactly what can be routed, and `mailbag route`
 * explains the same decisions hop by hop (explainRoute). Rules: docs/routing.md.
 */
import {
  type AddressDirectory,
  AddressError,
  formatNative,
  formatSmtp,
  MS_MAIL_NAME,
  MS_MAIL_NAME_RULE,
  type NativeAddress,
  parseAnyAddress,
  parseNativeAddress,
  parseSmtpAddress,
  type SmtpAddress,
  toSmtp,
} from "./address.ts";
import {
  formatSpacePattern,
  parseSpacePattern,
  type SpacePattern,
  spaceMatches,
  specificity,
} from "./address-space.ts";
import type { Config, Gateway, Postoffice } from "./config.ts";
import { networkMatcher, servingGateways } from "./config.ts";
import { PolicyRejectionError, SyntaxRejectionError } from "./errors.ts";

/** An address space ready to match: its pattern parsed, the gateways that use it resolved. */
export interface CompiledSpace {
  /** Position in `addressSpaces`, named in explanations and the final tie-break. */
  readonly index: number;
  readonly pattern: SpacePattern;
  readonly text: string;
  readonly gateway: string;
  readonly cost: number;
  readonly from: ReadonlySet<string>;
}

export interface AddressMap {
  readonly config: Config;
  readonly byDomain: ReadonlyMap<string, Postoffice>;
  readonly byId: ReadonlyMap<string, Postoffice>;
  readonly gateways: ReadonlyMap<string, Gateway>;
  /** Postoffice id → the gateway that receives SMTP mail for it (through its hubs, if any). */
  readonly receiverOf: ReadonlyMap<string, Gateway>;
  /** Postoffice id → the gateway that sends for it. */
  readonly senderOf: ReadonlyMap<string, Gateway>;
  /** Postoffice id → whether a client address may submit for it. */
  readonly submitNetworks: ReadonlyMap<string, (ip: string) => boolean>;
  /** Postoffice id → alias (lower-case local part) → the native mailbox it stands for. */
  readonly aliases: ReadonlyMap<string, ReadonlyMap<string, NativeAddress>>;
  readonly spaces: readonly CompiledSpace[];
  readonly directory: AddressDirectory;
}

export function buildAddressMap(config: Config): AddressMap {
  const gateways = new Map(config.gateways.map((gw) => [gw.id, gw]));
  const serving = servingGateways(config);
  const resolve = (m: Map<string, string>) =>
    new Map(
      [...m].flatMap(([po, gw]) => {
        const g = gateways.get(gw);
        return g ? [[po, g] as const] : [];
      }),
    );
  const byDomain = new Map(config.postoffices.map((po) => [po.domain, po]));
  const byId = new Map(config.postoffices.map((po) => [po.id, po]));
  const spaces = config.addressSpaces.flatMap((s, index): CompiledSpace[] => {
    const pattern = parseSpacePattern(s.pattern);
    if (typeof pattern === "string") return [];
    // By default every gateway that delivers uses the route, except its target.
    const from =
      s.from ??
      config.gateways.filter((g) => g.mode !== "receive" && g.id !== s.gateway).map((g) => g.id);
    return [
      {
        index,
        pattern,
        text: formatSpacePattern(pattern),
        gateway: s.gateway,
        cost: s.cost,
        from: new Set(from),
      },
    ];
  });
  return {
    config,
    byDomain,
    byId,
    gateways,
    receiverOf: resolve(serving.receive),
    senderOf: resolve(serving.send),
    submitNetworks: new Map(
      config.postoffices.map((po) => [po.id, networkMatcher(po.submit.networks)]),
    ),
    aliases: new Map(
      config.postoffices.map((po) => [
        po.id,
        new Map(
          Object.entries(po.aliases).map(([k, v]) => [k.toLowerCase(), parseNativeAddress(v)]),
        ),
      ]),
    ),
    spaces,
    directory: {
      network: config.network,
      domainOf: (id) => byId.get(id)?.domain,
      postofficeOf: (domain) => byDomain.get(domain.toLowerCase())?.id,
    },
  };
}

export interface MailboxAddress {
  readonly local: string;
  /** Lower-case: domains compare case-insensitively (RFC 5321 §2.4); local parts do not. */
  readonly domain: string;
}

/** Parses an envelope address (RFC 5321 §4.1.2); an invalid one is a 501 5.1.3 AddressError. */
export function parseMailbox(address: string): MailboxAddress {
  return parseSmtpAddress(address);
}

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
      readonly code: number;
      readonly enhanced: string;
      readonly reason: string;
    });

export type RouteKind = Route["kind"];

const refuse = (
  code: number,
  enhanced: string,
  reason: string,
  rule: string,
  detail: string = reason,
): Route => ({ kind: "refuse", code, enhanced, reason, rule, detail });

/**
 * Where a recipient goes, seen from `gatewayId`. Total and deterministic: every input gets
 * exactly one route, computed from the config alone. In order (docs/routing.md#decision):
 *
 * 1. not an RFC 5321 address → refuse 501 5.1.3;
 * 2. a postoffice's domain: its aliases, then its mailbox rules (may refuse 550/553);
 *    - received by this gateway (directly or through hubs) → its inbound mailbag;
 *    - else the best address space used by this gateway → that gateway (backbone);
 *    - else the smart host, whose MX/hosts table leads to its receiving gateway; none → 550 5.1.2;
 * 3. any other domain: the best address space used by this gateway → backbone; else the smart
 *    host (a `receive` gateway sends nothing: refuse 550 5.7.1).
 */
export function routeRecipient(map: AddressMap, gatewayId: string, address: string): Route {
  const gw = map.gateways.get(gatewayId);
  if (!gw) return refuse(451, "4.3.0", `unknown gateway ${gatewayId}`, "unknown gateway");
  let parsed: SmtpAddress;
  try {
    parsed = parseSmtpAddress(address);
  } catch (err) {
    if (err instanceof AddressError) return refuse(501, "5.1.3", err.reason, "address syntax");
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
    if (gw.mode === "receive") {
      return refuse(
        550,
        "5.7.1",
        `Relaying denied for <${address}>: gateway ${gw.id} only receives for its postoffices`,
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
        550,
        "5.1.2",
        `<${recipient}>: postoffice ${po.id} is received by no gateway`,
        `${po.id} received by no gateway`,
      ),
      alias,
    };
  }
  if (gw.mode === "receive") {
    return {
      ...refuse(
        550,
        "5.7.1",
        `Relaying denied for <${recipient}>: gateway ${gw.id} only receives, and ${po.id} is received by ${receiver.id}`,
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
      553,
      "5.1.3",
      `<${address}>: '${a.local}' is neither a mailbox name of ${po.id} (${MS_MAIL_NAME_RULE}) nor one of its aliases`,
      "mailbox name",
    );
  }
  const mailbox = a.local.toUpperCase();
  // RFC 5321 §4.5.1: every domain that receives mail must accept mail for postmaster.
  if (mailbox === "POSTMASTER" || po.unknownMailbox === "accept") return undefined;
  if (po.unknownMailbox === "listed") {
    if (po.mailboxes.includes(mailbox)) return undefined;
    return refuse(
      550,
      "5.1.1",
      `<${address}>: no mailbox ${mailbox} on postoffice ${po.id}`,
      `${po.id} accepts listed mailboxes only`,
    );
  }
  return refuse(
    550,
    "5.1.1",
    `<${address}>: postoffice ${po.id} receives no SMTP mail for its mailboxes`,
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

/**
 * The address space that decides for an address at `gatewayId`: the most specific pattern
 * wins; equally specific ones go to the lowest cost; then the first listed.
 */
export function bestSpace(
  map: AddressMap,
  gatewayId: string,
  domain: string,
  postoffice: string | undefined,
): CompiledSpace | undefined {
  let best: CompiledSpace | undefined;
  for (const s of map.spaces) {
    if (!s.from.has(gatewayId) || !spaceMatches(s.pattern, domain, postoffice)) continue;
    if (!best) {
      best = s;
      continue;
    }
    const d = specificity(s.pattern) - specificity(best.pattern);
    if (d > 0 || (d === 0 && s.cost < best.cost)) best = s;
  }
  return best;
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

/** Where other gateways deliver backbone mail for `gw` (docs/routing.md#backbone). */
export function ingressUrlOf(gw: Gateway): string | undefined {
  if (gw.ingressUrl) return gw.ingressUrl;
  return gw.hostname ? `smtp://${gw.hostname}:587` : undefined;
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
  const sendsFor = (id: string) => map.senderOf.get(id)?.id === gatewayId;
  if (mailFrom === "") {
    // Null sender (bounces from a postoffice): whoever the client is allowed to speak for.
    if (client.authenticatedPostoffice) return client.authenticatedPostoffice;
    return map.config.postoffices.find(
      (po) => sendsFor(po.id) && map.submitNetworks.get(po.id)?.(client.address),
    )?.id;
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

/** Whether an address space used by another gateway carries this address here. */
function carriedHere(map: AddressMap, gatewayId: string, address: string): boolean {
  const { domain } = parseSmtpAddress(address);
  const po = map.byDomain.get(domain)?.id;
  return map.spaces.some((s) => s.gateway === gatewayId && spaceMatches(s.pattern, domain, po));
}

/** The SMTP reply for a refused route. */
export function refusalError(route: Route & { kind: "refuse" }): PolicyRejectionError {
  if (route.code === 501) return new SyntaxRejectionError(route.reason);
  return new PolicyRejectionError(route.code, route.enhanced, route.reason);
}

/**
 * RCPT TO: accept what this gateway is meant to take: mail for the postoffices it receives for,
 * and what another gateway's address space carries here, from anyone; anything else only from a
 * client submitting for one of its postoffices. The rest is relaying: refused
 * (RFC 5321 §3.9, no open relay; 550 5.7.1 as Postfix's reject_unauth_destination does).
 */
export function acceptRecipient(
  map: AddressMap,
  gatewayId: string,
  address: string,
  submitter: string | undefined,
): Route {
  const route = routeRecipient(map, gatewayId, address);
  if (route.kind === "refuse") throw refusalError(route);
  if (route.kind === "inbound" || submitter !== undefined) return route;
  if (carriedHere(map, gatewayId, address)) return route;
  throw new PolicyRejectionError(550, "5.7.1", `Relaying denied for <${address}>`);
}

export interface Hop {
  readonly gateway: string;
  readonly route: Route;
}

export interface RouteExplanation {
  readonly input: string;
  /** The SMTP address routed (a native or one-off input converted), when it parsed. */
  readonly address?: string | undefined;
  readonly hops: readonly Hop[];
  /** The last decision: inbound, smart host or refuse (a loop is a refuse, 554 5.4.6). */
  readonly final: Route;
}

/**
 * Every hop of a recipient from `fromGateway`: the decision at each gateway, following backbone
 * routes, and the smart host's MX for postoffice domains, as the mail would (each next gateway
 * checks RCPT as its ingress does), until a mailbag, the smart host or a refusal. A gateway met twice is a routing loop: at run time the
 * trace header stops it (loop.ts); here it is reported the same way.
 */
export function explainRoute(
  map: AddressMap,
  fromGateway: string,
  input: string,
): RouteExplanation {
  let address: string;
  try {
    address = formatSmtp(toSmtp(map.directory, parseAnyAddress(input)));
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    const final = refuse(501, "5.1.3", err.reason, "address syntax");
    return { input, hops: [{ gateway: fromGateway, route: final }], final };
  }
  const hops: Hop[] = [];
  const crossed: string[] = [];
  let gateway = fromGateway;
  let recipient = address;
  for (;;) {
    let route = routeRecipient(map, gateway, recipient);
    if (crossed.length > 0 && route.kind !== "refuse") {
      try {
        acceptRecipient(map, gateway, recipient, undefined);
      } catch (err) {
        const e = err as PolicyRejectionError;
        route = refuse(e.responseCode, e.enhancedCode, e.reason, "RCPT refused at the ingress");
      }
    }
    crossed.push(gateway);
    hops.push({ gateway, route });
    const next =
      route.kind === "backbone" ? route.to : route.kind === "smarthost" ? route.mx : undefined;
    if (next === undefined || route.kind === "refuse" || route.kind === "inbound") {
      return { input, address, hops, final: route };
    }
    if (crossed.includes(next)) {
      const path = [...crossed, next].join(" → ");
      const final = refuse(
        554,
        "5.4.6",
        `Routing loop detected: ${path}`,
        "routing loop",
        `${next} would receive the message a second time (${path})`,
      );
      return { input, address, hops, final };
    }
    gateway = next;
    recipient = route.recipient;
  }
}

/** `a: GW-A → backbone (rule) → GW-B → PO2 inbound mailbag`, as `mailbag route` prints it. */
export function formatExplanation(e: RouteExplanation): string {
  const head = e.address && e.address !== e.input ? `${e.input} (${e.address})` : e.input;
  const parts: string[] = [];
  for (const [i, { gateway, route }] of e.hops.entries()) {
    parts.push(gateway);
    if (route.alias) parts.push(`alias (${route.alias.field}) → ${route.alias.to}`);
    if (route.kind === "backbone") parts.push(`backbone (${route.rule})`);
    else if (route.kind === "smarthost" && route.mx) parts.push(`smart host (MX → ${route.mx})`);
    else if (i === e.hops.length - 1 && e.final === route) parts.push(finalText(route));
  }
  const last = e.hops[e.hops.length - 1]?.route;
  if (e.final !== last) parts.push(finalText(e.final));
  return `${head}: ${parts.join(" → ")}`;
}

function finalText(route: Route): string {
  switch (route.kind) {
    case "inbound":
      return [...route.hubs.map((h) => `hub ${h}`), `${route.postoffice} inbound mailbag`].join(
        " → ",
      );
    case "smarthost":
      return `smart host (${route.rule})`;
    case "refuse":
      return `refused ${route.code} ${route.enhanced} (${route.reason})`;
    case "backbone":
      return `backbone to ${route.to}`;
  }
}

/** One line per hop: the decision in full and the config field behind it. */
export function formatHops(map: AddressMap, e: RouteExplanation): string[] {
  const lines = e.hops.map(({ gateway, route }, i) => {
    const alias = route.alias
      ? `alias ${route.alias.from} → ${route.alias.to} (${route.alias.field}); `
      : "";
    const what =
      route.kind === "backbone"
        ? `backbone to ${route.to} through its SMTP ingress (${peerUrl(map, route.to)})`
        : route.kind === "smarthost" && route.mx
          ? `smart host, which delivers to ${route.mx} (MX record / hosts table)`
          : finalText(route);
    const why =
      route.kind === "refuse" && route.detail === route.reason ? "" : ` — ${route.detail}`;
    return `  ${i + 1}. ${gateway}: ${alias}${what}${why}`;
  });
  if (e.final !== e.hops[e.hops.length - 1]?.route) {
    lines.push(`  ${lines.length + 1}. ${finalText(e.final)} — ${e.final.detail}`);
  }
  return lines;
}

function peerUrl(map: AddressMap, gatewayId: string): string {
  const gw = map.gateways.get(gatewayId);
  return (gw && ingressUrlOf(gw)) ?? "no hostname or ingressUrl configured";
}
