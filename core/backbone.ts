/**
 * Backbone delivery: a gateway's delivery transport sends each job to its next hop, the smart
 * host or another gateway's SMTP ingress (docs/routing.md#backbone). The router makes one job per
 * next hop, and the hop is recomputed here from the same address map, so the job format stays
 * the smart host's.
 */

import type { AddressMap } from "./address-map.ts";
import type { SmartHostTransport } from "./ports.ts";
import { routeRecipient } from "./route-recipient.ts";

export function nextHopTransport(
  map: AddressMap,
  gatewayId: string,
  smartHost: SmartHostTransport,
  peer: (gatewayId: string) => SmartHostTransport,
): SmartHostTransport {
  const hopOf = (rcpt: string) => {
    const route = routeRecipient(map, gatewayId, rcpt);
    return route.kind === "backbone" ? route.to : "";
  };
  return {
    async send(from, to, body, size, options) {
      const hops = new Set(to.map(hopOf));
      if (hops.size !== 1) {
        body.destroy();
        throw new Error(`one delivery job, several next hops: ${[...hops].join(", ")}`);
      }
      const [hop = ""] = hops;
      return (hop ? peer(hop) : smartHost).send(from, to, body, size, options);
    },
  };
}
