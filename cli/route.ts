/**
 * `mailbag route <address>... [--from-gateway ID]`: every hop of a recipient with the rule that
 * decided it, computed by the very function the ingress and the router use (core/route-recipient.ts).
 */
import { buildAddressMap } from "../core/address-map.ts";
import { explainRoute } from "../core/explain-route.ts";
import { UsageError } from "./common.ts";
import { readConfig } from "./config-io.ts";
import { CONFIG_ENV, CONFIG_OPTION, type CommandHelp, command } from "./help.ts";
import { formatExplanation, formatHops } from "./route-text.ts";

export const ROUTE_HELP = {
  name: "route",
  summary: "explain every hop of an address, with the rule that decided each",
  usage: "<address>... [--from-gateway ID] [--brief]",
  description:
    "address: mailbox@domain, NETWORK/PO/MAILBOX or [SMTP:user@host]. Computed by the very\n" +
    "function the ingress and the router use (core/route-recipient.ts); reads only the config.",
  options: {
    ...CONFIG_OPTION,
    "from-gateway": {
      type: "string",
      short: "g",
      arg: "ID",
      help: "the gateway the mail enters at (default: the first gateway)",
    },
    brief: { type: "boolean", short: "b", help: "one line per address, without the hops" },
  },
  env: CONFIG_ENV,
  example: "mailbag route jsmith@sales.company.test --from-gateway GW1",
} as const satisfies CommandHelp;

export const route = command(ROUTE_HELP, { min: 1 }, async ({ values, positionals }) => {
  const map = buildAddressMap(await readConfig(values.config));
  const from = values["from-gateway"] ?? map.config.gateways[0]?.id ?? "";
  const gateway = [...map.gateways.keys()].find((id) => id.toLowerCase() === from.toLowerCase());
  if (!gateway) {
    throw new UsageError(
      `--from-gateway: unknown gateway ${from} (gateways: ${[...map.gateways.keys()].join(", ")})`,
    );
  }
  for (const address of positionals) {
    const explanation = explainRoute(map, gateway, address);
    process.stdout.write(`${formatExplanation(explanation)}\n`);
    if (!values.brief) process.stdout.write(`${formatHops(map, explanation).join("\n")}\n`);
  }
  return 0;
});
