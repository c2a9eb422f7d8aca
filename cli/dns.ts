/**
 * `mailbag dns [--hosts | --mx]`: the smart host's hosts-table lines and the MX records for every
 * postoffice domain, each pointing at the gateway that receives for it (seed Q87030).
 */
import { parseArgs } from "node:util";
import { dnsRecords } from "../core/dns.ts";
import { buildAddressMap } from "../core/routing.ts";
import { configOption } from "./common.ts";
import { readConfig } from "./config-io.ts";

export async function dns(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...configOption, hosts: { type: "boolean" }, mx: { type: "boolean" } },
  });
  const map = buildAddressMap(await readConfig(values.config));
  const r = dnsRecords(map);
  const both = !values.hosts && !values.mx;
  const out = [
    `; Mailbag network ${map.config.network}, layout ${r.layout}`,
    ...r.gateways.map((g) => `;   ${g}`),
  ];
  if (both || values.hosts) {
    out.push("; hosts table of the smart host: <gateway address> <domain>", ...r.hosts);
  }
  if (both || values.mx) {
    out.push(
      "; DNS: one MX record per postoffice domain, at the gateway that receives it",
      ...r.mx,
    );
  }
  out.push(...r.notes);
  process.stdout.write(`${out.join("\n")}\n`);
  return 0;
}
