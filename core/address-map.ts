/**
 * The address map: the config turned into what routing looks up — postoffices by domain and id,
 * the gateway that receives and the one that sends for each postoffice (hubs followed), submit
 * networks, aliases, and the address spaces ready to match (docs/routing.md).
 */
import { type AddressDirectory, type NativeAddress, parseNativeAddress } from "./address.ts";
import {
  formatSpacePattern,
  parseSpacePattern,
  type SpacePattern,
  spaceMatches,
  specificity,
} from "./address-space.ts";
import { gatewayCapabilities } from "./capabilities.ts";
import { networkMatcher } from "./cidr.ts";
import type { Config, Gateway, Postoffice } from "./config.ts";
import { servingGateways } from "./config-rules.ts";

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
      config.gateways
        .filter((g) => gatewayCapabilities(g).sends && g.id !== s.gateway)
        .map((g) => g.id);
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

/** Where other gateways deliver backbone mail for `gw` (docs/routing.md#backbone). */
export function ingressUrlOf(gw: Gateway): string | undefined {
  if (gw.ingressUrl) return gw.ingressUrl;
  return gw.hostname ? `smtp://${gw.hostname}:587` : undefined;
}
