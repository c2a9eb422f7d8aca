/**
 * `mailbag route <address>... [--from-gateway ID]`: every hop of a recipient with the rule that
 * decided it, computed by the very function the ingress and the router use (core/routing.ts).
 */
import { parseArgs } from "node:util";
import { buildAddressMap, explainRoute, formatExplanation, formatHops } from "../core/routing.ts";
import { configOption, UsageError } from "./common.ts";
import { readConfig } from "./config-io.ts";

export async function route(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...configOption,
      "from-gateway": { type: "string", short: "g" },
      brief: { type: "boolean", short: "b" },
    },
  });
  if (positionals.length === 0) {
    throw new UsageError(
      "usage: mailbag route <address>... [--from-gateway ID] [--brief]\n" +
        "  address: mailbox@domain, NETWORK/PO/MAILBOX or [SMTP:user@host]",
    );
  }
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
}
