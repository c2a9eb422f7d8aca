/**
 * What a gateway does, by its mode (docs/routing.md, seed Q132060's dedicated send and receive
 * gateways): the one place a mode is interpreted. `receive` takes SMTP mail from the world for
 * its postoffices, fills their inbound mailbags and pushes to postoffices' own servers (push
 * queue); `send` delivers what its postoffices submit (delivery queue, delivery function, smart
 * host); `both` does both. Every gateway has a route
 * queue and a router: even a send gateway routes its own postoffices' local mail.
 */
import type { GatewayMode } from "./config.ts";
import type { QueueRole } from "./names.ts";

/** What a gateway does for the postoffices it lists. */
export type Role = "receive" | "send";

/** The Lambda functions of a gateway (infra/constructs/queue-function.ts entries). */
export type GatewayFunction = "router" | "deliver";

export interface GatewayCapabilities {
  /** Takes mail for its postoffices from anyone (MX traffic on 25), fills their inbound bags. */
  readonly receives: boolean;
  /** Delivers: accepts submissions, has a delivery queue and function, may use the smart host. */
  readonly sends: boolean;
  readonly roles: readonly Role[];
  readonly queues: readonly QueueRole[];
  readonly functions: readonly GatewayFunction[];
}

export function gatewayCapabilities(gateway: { readonly mode: GatewayMode }): GatewayCapabilities {
  const receives = gateway.mode !== "send";
  const sends = gateway.mode !== "receive";
  return {
    receives,
    sends,
    roles: [...(receives ? ["receive" as const] : []), ...(sends ? ["send" as const] : [])],
    queues: [
      "route",
      ...(sends ? ["deliver" as const] : []),
      ...(receives ? ["push" as const] : []),
    ],
    functions: sends ? ["router", "deliver"] : ["router"],
  };
}
