/**
 * Explaining a route hop by hop, for `mailbag route` (cli/route-text.ts prints it): the very
 * decisions the ingress and the router make (route-recipient.ts), followed from gateway to
 * gateway.
 */
import { formatSmtp, parseAnyAddress, toSmtp } from "./address.ts";
import type { AddressMap } from "./address-map.ts";
import { AddressError, isMailbagError, routingLoop } from "./errors.ts";
import { acceptRecipient } from "./ingress-policy.ts";
import { type Route, refuse, routeRecipient } from "./route-recipient.ts";

export interface Hop {
  readonly gateway: string;
  readonly route: Route;
}

export interface RouteExplanation {
  readonly input: string;
  /** The SMTP address routed (a native or one-off input converted), when it parsed. */
  readonly address?: string | undefined;
  readonly hops: readonly Hop[];
  /** The last decision: inbound, smart host or refuse (a loop is a refuse: routingLoop). */
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
    const final = refuse(err, "address syntax");
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
        if (!isMailbagError(err)) throw err;
        route = refuse(err, "RCPT refused at the ingress");
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
        routingLoop(path),
        "routing loop",
        `${next} would receive the message a second time (${path})`,
      );
      return { input, address, hops, final };
    }
    gateway = next;
    recipient = route.recipient;
  }
}
