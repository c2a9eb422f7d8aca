/**
 * What the smart host needs to send mail for the postoffices back to their gateways (seed
 * Q87030 "To configure the smart host"): a hosts-table line `<gateway address> <domain>` and an
 * MX record `<domain>. MX 10 <gateway host>.` for every postoffice domain, pointing at the
 * gateway that receives for it (through its hubs, when it has some).
 */

import type { AddressMap } from "./address-map.ts";
import { gatewayCapabilities } from "./capabilities.ts";
import type { Config } from "./config.ts";

export type Layout = "single" | "multiple" | "dedicated" | "multiple dedicated" | "mixed";

/** The seed Q132060 layout the gateways form. */
export function layoutOf(config: Config): Layout {
  const caps = config.gateways.map(gatewayCapabilities);
  const both = caps.filter((c) => c.sends && c.receives).length;
  if (both === caps.length) return caps.length === 1 ? "single" : "multiple";
  if (both === 0) {
    const send = caps.filter((c) => c.sends).length;
    if (send === caps.length - send) return send === 1 ? "dedicated" : "multiple dedicated";
  }
  return "mixed";
}

export interface DnsRecords {
  readonly layout: Layout;
  /** One line per gateway: `GW1 (both): hq.company.test, sales.company.test`. */
  readonly gateways: readonly string[];
  readonly hosts: readonly string[];
  readonly mx: readonly string[];
  /** Domains that get no line, and why, as `;` comments. */
  readonly notes: readonly string[];
}

export function dnsRecords(map: AddressMap, mxPreference = 10): DnsRecords {
  const hosts: string[] = [];
  const mx: string[] = [];
  const notes: string[] = [];
  for (const po of map.config.postoffices) {
    const gw = map.receiverOf.get(po.id);
    if (!gw) {
      notes.push(`; ${po.domain}: postoffice ${po.id} is received by no gateway`);
      continue;
    }
    const field = `gateways[${map.config.gateways.indexOf(gw)}]`;
    if (gw.address) hosts.push(`${gw.address} ${po.domain}`);
    else
      notes.push(`; ${po.domain}: no hosts-table line, gateway ${gw.id} has no ${field}.address`);
    if (gw.hostname) mx.push(`${po.domain}. MX ${mxPreference} ${gw.hostname}.`);
    else notes.push(`; ${po.domain}: no MX record, gateway ${gw.id} has no ${field}.hostname`);
  }
  const gateways = map.config.gateways.map((gw) => {
    const received = map.config.postoffices
      .filter((po) => map.receiverOf.get(po.id)?.id === gw.id)
      .map((po) => po.domain);
    const what = gatewayCapabilities(gw).receives
      ? received.join(", ") || "nothing"
      : "receives nothing";
    return `${gw.id} (${gw.mode}): ${what}`;
  });
  return { layout: layoutOf(map.config), gateways, hosts, mx, notes };
}
