/**
 * The Administrator program of the seeds, on the config file: `mailbag postoffice`,
 * `mailbag address-map`, `mailbag gateway`. Edits are core/config-edit.ts; each is validated
 * before anything is written, and written atomically (config-io.ts).
 */
import { buildAddressMap } from "../core/address-map.ts";
import type { Config, GatewayMode } from "../core/config.ts";
import * as edit from "../core/config-edit.ts";
import { UsageError } from "./common.ts";
import { editConfigFile, readConfig } from "./config-io.ts";
import { CONFIG_ENV, CONFIG_OPTION, type CommandHelp, command } from "./help.ts";

function need(value: string | undefined, what: string): string {
  if (value === undefined || value === "") throw new UsageError(`missing ${what}`);
  return value;
}

const list = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.flatMap((s) => String(s).split(",")).filter(Boolean) : undefined;

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function int(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`${what}: not an integer: ${v}`);
  return n;
}

const EDIT_NOTE =
  "Every edit is validated before the file is written, and written atomically; a refused\n" +
  "edit prints the field and leaves the file unchanged (exit 2).";

export const POSTOFFICE_HELP = {
  name: "postoffice",
  summary: "postoffice create|modify|delete|list: the postoffices of the address map",
  usage: "create <ID> --domain D [options] | modify <ID> [options] | delete <ID> | list",
  description: EDIT_NOTE,
  options: {
    ...CONFIG_OPTION,
    domain: { type: "string", arg: "DOMAIN", help: "its SMTP domain (unique in the map)" },
    via: { type: "string", arg: "PO", help: "the hub postoffice it is reached through" },
    "no-via": { type: "boolean", help: "reached directly, not through a hub" },
    "unknown-mailbox": {
      type: "string",
      arg: "POLICY",
      help: "accept, listed or reject mail for mailboxes it does not list",
    },
    mailbox: {
      type: "string",
      multiple: true,
      arg: "NAMES",
      help: "its mailboxes, comma-separated",
    },
    "submit-network": {
      type: "string",
      multiple: true,
      arg: "CIDR",
      help: "networks allowed to submit mail from it",
    },
    gateway: { type: "string", multiple: true, arg: "ID", help: "gateways that serve it (create)" },
  },
  env: CONFIG_ENV,
  example: "mailbag postoffice create ENG --domain eng.company.test --gateway GW1",
} as const satisfies CommandHelp;

/** `mailbag postoffice create|modify|delete|list` (seed: Gateway, SMTP, Postoffices). */
export const postoffice = command(POSTOFFICE_HELP, { min: 0 }, async ({ values, positionals }) => {
  const [action, id] = positionals;
  const fields: edit.PostofficeFields = {
    domain: str(values.domain),
    via: values["no-via"] ? null : str(values.via),
    unknownMailbox: str(values["unknown-mailbox"]) as edit.PostofficeFields["unknownMailbox"],
    mailboxes: list(values.mailbox),
    submitNetworks: list(values["submit-network"]),
  };
  const file = str(values.config);
  switch (action) {
    case "create": {
      const po = need(id, "postoffice id: postoffice create <ID> --domain <domain>");
      const domain = need(fields.domain, "--domain");
      await editConfigFile(file, (raw) =>
        edit.createPostoffice(raw, po, { ...fields, domain }, list(values.gateway) ?? []),
      );
      return done(`postoffice ${po.toUpperCase()} created (${domain})`);
    }
    case "modify": {
      const po = need(id, "postoffice id: postoffice modify <ID> [options]");
      await editConfigFile(file, (raw) => edit.modifyPostoffice(raw, po, fields));
      return done(`postoffice ${po.toUpperCase()} modified`);
    }
    case "delete": {
      const po = need(id, "postoffice id: postoffice delete <ID>");
      await editConfigFile(file, (raw) => edit.deletePostoffice(raw, po));
      return done(`postoffice ${po.toUpperCase()} deleted`);
    }
    case "list":
    case undefined: {
      const map = buildAddressMap(await readConfig(file));
      const rows = map.config.postoffices.map((po) => [
        po.id,
        po.domain,
        map.receiverOf.get(po.id)?.id ?? "-",
        map.senderOf.get(po.id)?.id ?? "-",
        po.via ?? "-",
        po.unknownMailbox,
      ]);
      return table(
        ["postoffice", "domain", "received by", "sent by", "via", "unknown mailbox"],
        rows,
      );
    }
    default:
      throw new UsageError(`unknown action '${action}' (create, modify, delete, list)`);
  }
});

export const ADDRESS_MAP_HELP = {
  name: "address-map",
  summary: "address-map add|remove|list: aliases and address spaces",
  usage:
    "add alias <local@domain> <NETWORK/PO/MAILBOX> | add space <pattern> --gateway ID [--cost N]\n" +
    "       [--from ID]... | remove alias <local@domain> | remove space <pattern> [--gateway ID] | list",
  description: EDIT_NOTE,
  options: {
    ...CONFIG_OPTION,
    gateway: { type: "string", arg: "ID", help: "the gateway an address space routes to" },
    cost: { type: "string", arg: "N", help: "cost among equally specific spaces (1-100)" },
    from: { type: "string", multiple: true, arg: "ID", help: "gateways that use the space" },
  },
  env: CONFIG_ENV,
  example: "mailbag address-map add alias postmaster@hq.company.test COMPANY/HQ/ADMIN",
} as const satisfies CommandHelp;

/** `mailbag address-map add|remove alias|space ...`, `mailbag address-map list`. */
export const addressMap = command(ADDRESS_MAP_HELP, { min: 0 }, async ({ values, positionals }) => {
  const [action, kind, subject, target] = positionals;
  const file = str(values.config);
  const usage =
    "address-map add alias <local@domain> <NETWORK/PO/MAILBOX> | add space <pattern> --gateway <ID> " +
    "[--cost N] [--from <ID>]... | remove alias <local@domain> | remove space <pattern> [--gateway <ID>] | list";
  if (action === "list" || action === undefined) return listAddressMap(await readConfig(file));
  if ((action !== "add" && action !== "remove") || (kind !== "alias" && kind !== "space")) {
    throw new UsageError(usage);
  }
  const what = need(
    subject,
    kind === "alias" ? "alias address (local@domain)" : "address space pattern",
  );
  if (kind === "alias") {
    if (action === "add") {
      const to = need(target, "alias target NETWORK/PO/MAILBOX");
      await editConfigFile(file, (raw) => edit.addAlias(raw, what, to));
      return done(`alias ${what} → ${to} added`);
    }
    await editConfigFile(file, (raw) => edit.removeAlias(raw, what));
    return done(`alias ${what} removed`);
  }
  const gateway = str(values.gateway);
  if (action === "add") {
    const to = need(gateway, "--gateway (the gateway the address space routes to)");
    const cost = int(values.cost, "--cost");
    const from = list(values.from);
    await editConfigFile(file, (raw) =>
      edit.addSpace(raw, {
        pattern: what,
        gateway: to,
        ...(cost !== undefined ? { cost } : {}),
        ...(from ? { from } : {}),
      }),
    );
    return done(`address space ${what} → ${to} added`);
  }
  await editConfigFile(file, (raw) => edit.removeSpace(raw, what, gateway));
  return done(`address space ${what} removed`);
});

function listAddressMap(config: Config): number {
  const map = buildAddressMap(config);
  table(
    ["postoffice", "domain", "native", "received by"],
    config.postoffices.map((po) => [
      po.id,
      po.domain,
      `${config.network}/${po.id}/*`,
      map.receiverOf.get(po.id)?.id ?? "-",
    ]),
  );
  const aliases = config.postoffices.flatMap((po) =>
    Object.entries(po.aliases).map(([k, v]) => [`${k}@${po.domain}`, v]),
  );
  if (aliases.length > 0) {
    process.stdout.write("\n");
    table(["alias", "mailbox"], aliases);
  }
  if (map.spaces.length > 0) {
    process.stdout.write("\n");
    table(
      ["#", "address space", "to gateway", "cost", "used by"],
      map.spaces.map((s) => [
        String(s.index),
        s.text,
        s.gateway,
        String(s.cost),
        [...s.from].join(", ") || "-",
      ]),
    );
    process.stdout.write(
      "(most specific pattern wins; equally specific: lowest cost, then first listed)\n",
    );
  }
  return 0;
}

export const GATEWAY_HELP = {
  name: "gateway",
  summary: "gateway create|modify|delete|list: the gateways and what they serve",
  usage:
    "create <ID> --mode M --postoffice PO [options] | modify <ID> [options] | delete <ID> | list",
  description: EDIT_NOTE,
  options: {
    ...CONFIG_OPTION,
    mode: { type: "string", arg: "MODE", help: "both, send or receive" },
    postoffice: { type: "string", multiple: true, arg: "PO", help: "add postoffices it serves" },
    "remove-postoffice": {
      type: "string",
      multiple: true,
      arg: "PO",
      help: "stop serving these postoffices",
    },
    hostname: { type: "string", arg: "HOST", help: "its public host name (MX target)" },
    address: { type: "string", arg: "IP", help: "address in the smart host's hosts table" },
    port: { type: "string", arg: "N", help: "its SMTP port under `mailbag start`" },
    "ingress-url": {
      type: "string",
      arg: "URL",
      help: "smtp://host:port other gateways deliver backbone mail to",
    },
  },
  env: CONFIG_ENV,
  example: "mailbag gateway create GW2 --mode receive --postoffice SALES",
} as const satisfies CommandHelp;

/** `mailbag gateway create|modify|delete|list`. */
export const gateway = command(GATEWAY_HELP, { min: 0 }, async ({ values, positionals }) => {
  const [action, id] = positionals;
  const file = str(values.config);
  const fields: edit.GatewayFields = {
    mode: str(values.mode) as GatewayMode | undefined,
    addPostoffices: list(values.postoffice),
    removePostoffices: list(values["remove-postoffice"]),
    hostname: str(values.hostname),
    address: str(values.address),
    port: int(values.port, "--port"),
    ingressUrl: str(values["ingress-url"]),
  };
  switch (action) {
    case "create": {
      const gw = need(
        id,
        "gateway id: gateway create <ID> --mode both|send|receive --postoffice <PO>",
      );
      const mode = need(fields.mode, "--mode (both, send or receive)") as GatewayMode;
      await editConfigFile(file, (raw) => edit.createGateway(raw, gw, { ...fields, mode }));
      return done(`gateway ${gw} created`);
    }
    case "modify": {
      const gw = need(id, "gateway id: gateway modify <ID> [options]");
      await editConfigFile(file, (raw) => edit.modifyGateway(raw, gw, fields));
      return done(`gateway ${gw} modified`);
    }
    case "delete": {
      const gw = need(id, "gateway id: gateway delete <ID>");
      await editConfigFile(file, (raw) => edit.deleteGateway(raw, gw));
      return done(`gateway ${gw} deleted`);
    }
    case "list":
    case undefined: {
      const config = await readConfig(file);
      return table(
        ["gateway", "mode", "postoffices", "hostname", "address"],
        config.gateways.map((g) => [
          g.id,
          g.mode,
          g.postoffices.join(", "),
          g.hostname ?? "-",
          g.address ?? "-",
        ]),
      );
    }
    default:
      throw new UsageError(`unknown action '${action}' (create, modify, delete, list)`);
  }
});

function done(message: string): number {
  process.stdout.write(`mailbag: ${message}\n`);
  return 0;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): number {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  process.stdout.write(`${[line(head), ...rows.map(line)].join("\n")}\n`);
  return 0;
}
