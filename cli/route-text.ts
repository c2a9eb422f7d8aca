/**
 * `mailbag route`'s text: a route explanation (core/explain-route.ts) as one summary line and
 * one line per hop.
 */
import { type AddressMap, ingressUrlOf } from "../core/address-map.ts";
import type { RouteExplanation } from "../core/explain-route.ts";
import type { Route } from "../core/route-recipient.ts";

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
      return `refused ${route.error.responseCode} ${route.error.enhancedCode} (${route.error.reason})`;
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
      route.kind === "refuse" && route.detail === route.error.reason ? "" : ` — ${route.detail}`;
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
