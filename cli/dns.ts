/**
 * `mailbag dns [--hosts | --mx]`: the smart host's hosts-table lines and the MX records for every
 * postoffice domain, each pointing at the gateway that receives for it (seed Q87030).
 */
import { buildAddressMap } from "../core/address-map.ts";
import { dnsRecords } from "../core/dns.ts";
import { readConfig } from "./config-io.ts";
import { CONFIG_ENV, CONFIG_OPTION, type CommandHelp, command } from "./help.ts";

export const DNS_HELP = {
  name: "dns",
  summary: "hosts-table lines and MX records the smart host and DNS need",
  usage: "[--hosts | --mx]",
  description: "Without an option prints both.",
  options: {
    ...CONFIG_OPTION,
    hosts: { type: "boolean", help: "only the smart host's hosts-table lines" },
    mx: { type: "boolean", help: "only the MX records, one per postoffice domain" },
  },
  env: CONFIG_ENV,
  example: "mailbag dns --mx",
} as const satisfies CommandHelp;

export const dns = command(DNS_HELP, { max: 0 }, async ({ values }) => {
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
});
