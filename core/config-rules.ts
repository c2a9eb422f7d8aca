/**
 * The rules a config keeps across its fields (docs/routing.md): unique ids and domains, known
 * postoffices and gateways, hub routes without cycles, one gateway per postoffice and role, alias
 * and address space targets that exist. Run by parseConfig as a zod refinement once the shape is
 * valid; each issue is reported with its path, all of them at once.
 */
import { parseNativeAddress } from "./address.ts";
import { parseSpacePattern } from "./address-space.ts";
import { gatewayCapabilities, type Role } from "./capabilities.ts";
import type { Config } from "./config.ts";
import { formatPath } from "./errors.ts";

/** Adds one issue at `path` (zod's own path form: keys and indexes). */
export type Report = (path: PropertyKey[], message: string) => void;

export function checkReferences(config: Config, report: Report): void {
  const postoffice = (i: number) => `postoffice ${config.postoffices[i]?.id}`;
  uniqueBy(config.postoffices, (po) => po.id, "postoffices", "id", postoffice, report);
  uniqueBy(config.postoffices, (po) => po.domain, "postoffices", "domain", postoffice, report);
  // Gateway ids name AWS resources, whose names are lower-case.
  const gateway = (i: number) => `gateway ${config.gateways[i]?.id}`;
  uniqueBy(config.gateways, (gw) => gw.id.toLowerCase(), "gateways", "id", gateway, report);
  const cyclic = checkHubs(config, report);
  const listed = listings(config, report);
  if (cyclic.size === 0) checkGateways(config, listed, report);
  checkAliases(config, report);
  checkAddressSpaces(config, report);
}

const ROLE_DONE: Record<Role, string> = { receive: "received", send: "sent" };

/**
 * `via` names a known postoffice and hub routes never come back to where they started. A cycle
 * is reported once, at its first member; returns the postoffices on a cycle.
 */
function checkHubs(config: Config, report: Report): Set<string> {
  const byId = new Map(config.postoffices.map((po) => [po.id, po]));
  const cyclic = new Set<string>();
  config.postoffices.forEach((po, i) => {
    if (po.via === undefined) return;
    const path = ["postoffices", i, "via"];
    if (!byId.has(po.via)) {
      report(path, `unknown postoffice ${po.via}`);
      return;
    }
    const chain = [po.id];
    for (let hub: string | undefined = po.via; hub !== undefined; hub = byId.get(hub)?.via) {
      if (chain.includes(hub)) {
        const cycle = chain.slice(chain.indexOf(hub));
        if (!cycle.some((id) => cyclic.has(id))) {
          report(path, `hub routes form a cycle: ${[...chain, hub].join(" → ")}`);
        }
        for (const id of cycle) cyclic.add(id);
        return;
      }
      chain.push(hub);
    }
  });
  return cyclic;
}

interface Listing {
  readonly gateway: string;
  readonly path: string;
}

/**
 * Postoffice id → the gateway listing it, per role, as written (hubs not followed). With a
 * `report`, names unknown postoffices and postoffices listed twice for a role.
 */
function listings(config: Config, report?: Report): Record<Role, Map<string, Listing>> {
  const owners: Record<Role, Map<string, Listing>> = { receive: new Map(), send: new Map() };
  const known = new Set(config.postoffices.map((po) => po.id));
  config.gateways.forEach((gw, g) => {
    gw.postoffices.forEach((id, p) => {
      const at = ["gateways", g, "postoffices", p];
      const path = formatPath(at);
      if (!known.has(id)) {
        report?.(at, `unknown postoffice ${id}`);
        return;
      }
      let reported = false;
      for (const role of gatewayCapabilities(gw).roles) {
        const other = owners[role].get(id);
        if (other !== undefined && other.gateway !== gw.id && !reported) {
          reported = true;
          report?.(
            at,
            `postoffice ${id} is ${ROLE_DONE[role]} by two gateways: ${other.gateway} (${other.path}) and ${gw.id} (${path})`,
          );
        }
        if (other === undefined || other.gateway === gw.id)
          owners[role].set(id, { gateway: gw.id, path });
      }
    });
  });
  return owners;
}

/**
 * Postoffice id → the gateway that receives (or sends) for it. A postoffice reached via a hub
 * and listed by no gateway is served by its hub's gateway (seed Q87030: the hub sits between
 * the downstream postoffice and the gateway). Only for a validated config.
 */
export function servingGateways(
  config: Config,
  listed: Record<Role, Map<string, Listing>> = listings(config),
): Record<Role, Map<string, string>> {
  const byId = new Map(config.postoffices.map((po) => [po.id, po]));
  const serving = (role: Role, id: string): string | undefined => {
    const seen = new Set<string>();
    for (
      let po = byId.get(id);
      po && !seen.has(po.id);
      po = po.via ? byId.get(po.via) : undefined
    ) {
      seen.add(po.id);
      const l = listed[role].get(po.id);
      if (l) return l.gateway;
    }
    return undefined;
  };
  const result: Record<Role, Map<string, string>> = { receive: new Map(), send: new Map() };
  for (const role of ["receive", "send"] as const) {
    for (const po of config.postoffices) {
      const gw = serving(role, po.id);
      if (gw !== undefined) result[role].set(po.id, gw);
    }
  }
  return result;
}

/** One gateway per postoffice and role; a hub's downstream postoffice stays with its hub's. */
function checkGateways(
  config: Config,
  listed: Record<Role, Map<string, Listing>>,
  report: Report,
): void {
  const serving = servingGateways(config, listed);
  config.postoffices.forEach((po, i) => {
    if (po.via === undefined) return;
    for (const role of ["receive", "send"] as const) {
      const own = listed[role].get(po.id);
      const hubs = serving[role].get(po.via);
      if (own && hubs !== undefined && own.gateway !== hubs) {
        report(
          ["postoffices", i, "via"],
          `${po.id} is reached via hub ${po.via}, which is ${ROLE_DONE[role]} by ${hubs}, but ${own.path} has ${po.id} ${ROLE_DONE[role]} by ${own.gateway}`,
        );
        return;
      }
    }
  });
}

/** Alias targets are mailboxes of this network's postoffices. */
function checkAliases(config: Config, report: Report): void {
  const known = new Set(config.postoffices.map((po) => po.id));
  config.postoffices.forEach((po, i) => {
    for (const [name, target] of Object.entries(po.aliases)) {
      const path = ["postoffices", i, "aliases", name];
      const native = parseNativeAddress(target);
      if (native.network !== config.network) {
        report(path, `network ${native.network} is not this network (${config.network})`);
      } else if (!known.has(native.postoffice)) {
        report(path, `unknown postoffice ${native.postoffice}`);
      }
    }
  });
}

/**
 * Backbone mail enters the target through its SMTP ingress, so the target receives (not
 * `send`); the gateways using the route deliver, so they send (not `receive`).
 */
function checkAddressSpaces(config: Config, report: Report): void {
  const gateways = new Map(config.gateways.map((gw) => [gw.id, gw]));
  const ids = config.gateways.map((gw) => gw.id).join(", ");
  const known = new Set(config.postoffices.map((po) => po.id));
  config.addressSpaces.forEach((space, i) => {
    const target = gateways.get(space.gateway);
    if (!target) {
      report(
        ["addressSpaces", i, "gateway"],
        `address space ${space.pattern} points at unknown gateway ${space.gateway} (gateways: ${ids})`,
      );
    } else if (!gatewayCapabilities(target).receives) {
      report(
        ["addressSpaces", i, "gateway"],
        `gateway ${target.id} is send-only: backbone mail enters a gateway through its SMTP ingress`,
      );
    }
    space.from?.forEach((id, f) => {
      const path = ["addressSpaces", i, "from", f];
      const from = gateways.get(id);
      if (!from) report(path, `unknown gateway ${id} (gateways: ${ids})`);
      else if (id === space.gateway) report(path, `gateway ${id} cannot route to itself`);
      else if (!gatewayCapabilities(from).sends) {
        report(
          path,
          `gateway ${id} is receive-only: it delivers nothing, so it carries no backbone mail`,
        );
      }
    });
    const pattern = parseSpacePattern(space.pattern);
    if (typeof pattern !== "string" && pattern.kind === "postoffice") {
      const path = ["addressSpaces", i, "pattern"];
      if (pattern.network !== config.network) {
        report(path, `network ${pattern.network} is not this network (${config.network})`);
      } else if (!known.has(pattern.postoffice)) {
        report(path, `unknown postoffice ${pattern.postoffice}`);
      }
    }
  });
}

function uniqueBy<T>(
  items: readonly T[],
  key: (item: T) => string,
  list: string,
  field: string,
  describe: (index: number) => string,
  report: Report,
): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    const first = seen.get(k);
    if (first !== undefined) {
      report(
        [list, i, field],
        `${k} is used by both ${describe(first)} (${list}[${first}].${field}) and ${describe(i)}`,
      );
    } else seen.set(k, i);
  });
}
