/**
 * The one configuration file of a Mailbag network: postoffices, gateways, smart host.
 * Validated once at start (zod); unknown keys are rejected; every error names its field path.
 * The same file drives `mailbag start`, the Lambda functions (as the published directory) and
 * the CDK app.
 */
import { BlockList, isIP } from "node:net";
import { z } from "zod";
import { MS_MAIL_NAME, MS_MAIL_NAME_RULE, parseNativeAddress } from "./address.ts";
import { parseSpacePattern } from "./address-space.ts";
import { awsSection } from "./config-aws.ts";
import { deliverySection } from "./config-delivery.ts";
import { ConfigError } from "./errors.ts";
import { jsonErrorPosition } from "./json-position.ts";

/** MS Mail network, postoffice and mailbox names: up to 10 characters (docs/routing.md#addresses). */
const msMailName = z
  .string()
  .regex(MS_MAIL_NAME, MS_MAIL_NAME_RULE)
  .transform((s) => s.toUpperCase());

/** Gateway ids name AWS resources (bucket, queues, stack), so they keep to what all of those allow. */
const gatewayId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,23}$/, "1-24 letters, digits or '-', starting alphanumeric");

/** RFC 1035 host name, stored lower-case: SMTP domains compare case-insensitively (RFC 5321 §2.4). */
const domainName = z
  .string()
  .regex(
    /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/,
    "a fully qualified domain name such as sales.company.test",
  )
  .transform((s) => s.toLowerCase());

const cidr = z
  .string()
  .refine((s) => parseCidr(s) !== undefined, "a CIDR block such as 10.0.0.0/8");

const submitUser = z.strictObject({
  username: z.string().min(1),
  /** Name of the environment variable holding the password: no secrets in the config file. */
  passwordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "an environment variable name"),
});

/** RFC 5321 Dot-string local part; aliases match case-insensitively, so they are kept lower-case. */
const aliasName = z
  .string()
  .regex(
    /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/,
    "a local part such as postmaster or john.smith",
  )
  .max(64);

/** `NETWORK/PO/MAILBOX`; that the network and postoffice exist is checked with the references. */
const nativeAddress = z.string().superRefine((s, ctx) => {
  try {
    parseNativeAddress(s);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as { reason: string }).reason });
  }
});

/** What happens to mail for a mailbox the postoffice does not list (docs/routing.md#mailboxes). */
export const UNKNOWN_MAILBOX_POLICIES = ["accept", "listed", "reject"] as const;

/**
 * A server URL with the schemes given, e.g. smtp://[user:pass@]host[:port]. STARTTLS and AUTH
 * work as for the smart host (functions/shared/smtp-transport.ts).
 */
const serverUrl = (schemes: readonly string[], hint: string) =>
  z
    .string()
    .superRefine((s, ctx) => {
      const problem = serverUrlProblem(s, schemes, hint);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .transform((s) => s.replace(/\/$/, ""));

/**
 * How a postoffice gets its mail (docs/postoffices.md). Absent: pickup, the postoffice runs
 * `mailbag fetch`. `deliver`: push, the gateway delivers each message to the postoffice's own
 * server over SMTP or LMTP (RFC 2033), in acceptance order, retried while it is down.
 */
const inbound = z.strictObject({
  deliver: serverUrl(
    ["smtp", "smtps", "lmtp"],
    "smtp://[user:pass@]host[:port], smtps://... or lmtp://host[:port]",
  ),
});

const postoffice = z.strictObject({
  id: msMailName,
  domain: domainName,
  /** The hub postoffice this one is reached through (seed Q87030 "hub postoffice"). */
  via: msMailName.optional(),
  /** The mailboxes this postoffice has; only read under unknownMailbox `listed`. */
  mailboxes: z.array(msMailName).default([]),
  /** Local part (any case) → native mailbox it stands for, e.g. postmaster → COMPANY/HQ/ADMIN. */
  aliases: z.record(aliasName, nativeAddress).default({}),
  unknownMailbox: z.enum(UNKNOWN_MAILBOX_POLICIES).default("accept"),
  /** Push to the postoffice's server, or (absent) pickup with `mailbag fetch`. */
  inbound: inbound.optional(),
  /** Who may submit mail from this postoffice to other domains through its gateway. */
  submit: z
    .strictObject({
      networks: z.array(cidr).default([]),
      users: z.array(submitUser).default([]),
    })
    .default({ networks: [], users: [] }),
});

const smtpUrl = serverUrl(["smtp", "smtps"], "smtp://[user:pass@]host[:port] or smtps://...");

/**
 * Why `s` is no usable server URL: the scheme and shape, then as the transports will parse it
 * (WHATWG URL), with the port in 1-65535 (`smtp://127.0.0.1:99999` once passed and failed at start).
 */
export function serverUrlProblem(
  s: string,
  schemes: readonly string[],
  hint: string,
): string | undefined {
  if (!new RegExp(`^(${schemes.join("|")})://[^/]+$`).test(s.replace(/\/$/, ""))) return hint;
  const port = /:(\d+)\/?$/.exec(s)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
    return `port ${port} is not in 1-65535`;
  try {
    if (!new URL(s).hostname) return "no host name";
  } catch {
    return "not a valid URL";
  }
  return undefined;
}

const gatewayMode = z.enum(["both", "send", "receive"]);

const gateway = z.strictObject({
  id: gatewayId,
  mode: gatewayMode,
  postoffices: z.array(msMailName).min(1),
  /** Public host name of the gateway (MX target in `mailbag dns`). */
  hostname: domainName.optional(),
  /** Address the smart host's hosts table points at (seed Q87030 "Hosts Table"). */
  address: z
    .string()
    .refine((s) => isIP(s) !== 0, "an IPv4 or IPv6 address")
    .optional(),
  /** Local SMTP port of this gateway's ingress under `mailbag start` (default: --port, +1 per gateway). */
  port: z.number().int().min(1).max(65535).optional(),
  /**
   * Where other gateways deliver backbone mail to this one (docs/routing.md#backbone).
   * Default smtp://<hostname>:587: Lambda functions cannot open connections to port 25.
   */
  ingressUrl: smtpUrl.optional(),
});

/** A route to another gateway for what `pattern` covers (seed Q148389 address spaces). */
const addressSpace = z.strictObject({
  pattern: z.string().superRefine((s, ctx) => {
    const parsed = parseSpacePattern(s);
    if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
  }),
  /** The gateway the mail is carried to. */
  gateway: gatewayId,
  /** Among equally specific address spaces the lowest cost wins (then the first listed). */
  cost: z.number().int().min(1).max(100).default(1),
  /** The gateways that use this route; default every gateway but the target. */
  from: z.array(gatewayId).min(1).optional(),
});

const smartHost = z.union([
  z.strictObject({ url: smtpUrl }),
  z.strictObject({
    ses: z.strictObject({
      region: z.string().optional(),
      configurationSet: z.string().optional(),
    }),
  }),
]);

const DEFAULT_LIMITS = {
  maxMessageBytes: 50 * 1024 * 1024,
  maxRecipients: 100,
  maxHops: 100,
  maxConnections: 500,
  maxConnectionsPerClient: 20,
  maxSessionSeconds: 1800,
  greetingDelayMs: 100,
};

const DEFAULT_AUTH = {
  maxFailuresPerClient: 5,
  maxFailuresPerUser: 20,
  lockoutSeconds: 900,
  failureDelayMs: 500,
  maxDelayMs: 8000,
};

const configSchema = z.strictObject({
  $schema: z.string().optional(),
  network: msMailName,
  /** Prefix of every AWS resource name (bucket, queues, stacks); unique per deployment or test run. */
  prefix: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,29}$/, "1-30 lower-case letters, digits or '-'")
    .default("mailbag"),
  postoffices: z.array(postoffice).min(1),
  gateways: z.array(gateway).min(1),
  addressSpaces: z.array(addressSpace).default([]),
  smartHost,
  limits: z
    .strictObject({
      /** Advertised in EHLO SIZE and enforced while DATA streams (RFC 1870). */
      maxMessageBytes: z
        .number()
        .int()
        .min(1024)
        .default(50 * 1024 * 1024),
      /** RFC 5321 §4.5.3.1.8: at least 100 must be accepted. */
      maxRecipients: z.number().int().min(100).max(1000).default(100),
      /**
       * A message that arrives with this many Received: fields is refused, 554 5.4.6
       * (RFC 5321 §6.3: "normally at least 100"; docs/routing.md#loops).
       */
      maxHops: z.number().int().min(10).max(1000).default(100),
      /** Open SMTP connections of one ingress; the next one gets 421 4.7.0. */
      maxConnections: z.number().int().min(1).max(100_000).default(DEFAULT_LIMITS.maxConnections),
      /** Open SMTP connections from one client address. */
      maxConnectionsPerClient: z
        .number()
        .int()
        .min(1)
        .max(100_000)
        .default(DEFAULT_LIMITS.maxConnectionsPerClient),
      /**
       * Total lifetime of one SMTP session, however busy: the idle timeout alone lets a client
       * keep a connection forever by trickling bytes. Then 421 4.7.0 and disconnect.
       */
      maxSessionSeconds: z
        .number()
        .int()
        .min(1)
        .max(86_400)
        .default(DEFAULT_LIMITS.maxSessionSeconds),
      /**
       * Pause before the 220 greeting; a client that talks first is refused as an early talker
       * (RFC 5321 §4.3.1 says a client waits for the greeting). smtp-server's fixed 100 ms,
       * patched into a setting (patches/smtp-server+*.patch); 0 for trusted senders and benches.
       */
      greetingDelayMs: z.number().int().min(0).max(30_000).default(DEFAULT_LIMITS.greetingDelayMs),
    })
    .default(DEFAULT_LIMITS),
  /** SMTP AUTH guessing defence (functions/ingress/server.ts, core/auth-guard.ts). */
  auth: z
    .strictObject({
      maxFailuresPerClient: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(DEFAULT_AUTH.maxFailuresPerClient),
      maxFailuresPerUser: z
        .number()
        .int()
        .min(1)
        .max(100_000)
        .default(DEFAULT_AUTH.maxFailuresPerUser),
      lockoutSeconds: z.number().int().min(1).max(86_400).default(DEFAULT_AUTH.lockoutSeconds),
      failureDelayMs: z.number().int().min(0).max(60_000).default(DEFAULT_AUTH.failureDelayMs),
      maxDelayMs: z.number().int().min(0).max(60_000).default(DEFAULT_AUTH.maxDelayMs),
    })
    .default(DEFAULT_AUTH),
  /**
   * The ingress's TLS certificate (functions/ingress/tls.ts). Without files (and without the
   * MAILBAG_TLS_CERT/MAILBAG_TLS_KEY environment variables) a self-signed certificate for the
   * gateway's hostname is generated and kept in the data directory.
   */
  tls: z
    .strictObject({
      /** PEM certificate chain, re-read when it changes. */
      certFile: z.string().min(1).optional(),
      /** PEM private key of that certificate, re-read when it changes. */
      keyFile: z.string().min(1).optional(),
      /** Also listen with implicit TLS here (RFC 8314 submissions port, 465), +1 per gateway. */
      implicitPort: z.number().int().min(1).max(65535).optional(),
      /** Oldest TLS version accepted; 1.0 and 1.1 are deprecated (RFC 8996). */
      minVersion: z.enum(["TLSv1.2", "TLSv1.3"]).default("TLSv1.2"),
    })
    .refine((t) => !t.certFile === !t.keyFile, {
      message: "certFile and keyFile go together",
      path: ["keyFile"],
    })
    .default({ minVersion: "TLSv1.2" }),
  queues: z
    .strictObject({
      /**
       * How long a job being worked on stays invisible: the function timeout, and the wait
       * before a job that failed for an unexpected reason (not a 4xx, not an unreachable next
       * hop: those follow `delivery`) is tried again.
       */
      visibilityTimeoutSeconds: z.number().int().min(1).max(43200).default(60),
      /**
       * Receives of a job after which one that fails for an unexpected reason is moved to its
       * dead-letter queue (logged at error level with the mail id, noted in its status record).
       */
      maxReceiveCount: z.number().int().min(1).max(1000).default(10),
    })
    .default({ visibilityTimeoutSeconds: 60, maxReceiveCount: 10 }),
  /** Retries, queue lifetime and waiting for the next hop (core/config-delivery.ts). */
  delivery: deliverySection,
  /** Deployment settings read only by the CDK app (infra/). */
  aws: awsSection.optional(),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type Postoffice = Config["postoffices"][number];
export type Gateway = Config["gateways"][number];
export type GatewayMode = Gateway["mode"];
export type SmartHost = Config["smartHost"];
export type AddressSpace = Config["addressSpaces"][number];
export type UnknownMailboxPolicy = Postoffice["unknownMailbox"];
export type InboundDelivery = NonNullable<Postoffice["inbound"]>;

/** `a[0].b` style path, as printed in every config error. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, key) =>
      typeof key === "number" ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key),
    "",
  );
}

export interface ConfigEnv {
  /** `MAILBAG_SMART_HOST`: an smtp:// URL that replaces the configured smart host. */
  readonly MAILBAG_SMART_HOST?: string | undefined;
  readonly [name: string]: string | undefined;
}

/**
 * Validates a parsed config file. Throws one ConfigError listing every malformed field.
 * Cross-field rules (unique domains, known postoffices, one receiving gateway per postoffice)
 * run after the shape is valid.
 */
export function parseConfig(input: unknown, env: ConfigEnv = {}): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    // Every issue at once, each naming its field: fix them all in one go.
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        path: formatPath(issue.path) || "(root)",
        reason:
          issue.code === "unrecognized_keys"
            ? `${issue.message}: ${issue.keys.join(", ")}`
            : issue.message,
      })),
    );
  }
  const config = result.data;
  if (env.MAILBAG_SMART_HOST) {
    const url = smtpUrl.safeParse(env.MAILBAG_SMART_HOST);
    if (!url.success)
      throw new ConfigError("MAILBAG_SMART_HOST", url.error.issues[0]?.message ?? "invalid");
    config.smartHost = { url: url.data };
  }
  checkReferences(config, env);
  return config;
}

function checkReferences(config: Config, env: ConfigEnv): void {
  uniqueBy(
    config.postoffices,
    (po) => po.id,
    "postoffices",
    "id",
    (i) => `postoffice ${config.postoffices[i]?.id}`,
  );
  uniqueBy(
    config.postoffices,
    (po) => po.domain,
    "postoffices",
    "domain",
    (i) => `postoffice ${config.postoffices[i]?.id}`,
  );
  uniqueBy(
    config.gateways,
    (gw) => gw.id.toLowerCase(),
    "gateways",
    "id",
    (i) => `gateway ${config.gateways[i]?.id}`,
  );
  checkHubs(config);
  checkGateways(config);
  checkAliases(config);
  checkAddressSpaces(config);
  config.postoffices.forEach((po, i) => {
    po.submit.users.forEach((user, u) => {
      if (env[user.passwordEnv] === undefined) {
        throw new ConfigError(
          `postoffices[${i}].submit.users[${u}].passwordEnv`,
          `environment variable ${user.passwordEnv} is not set`,
        );
      }
    });
  });
}

/** What a gateway does for the postoffices it lists: `both` does both. */
export type Role = "receive" | "send";
const ROLE_DONE: Record<Role, string> = { receive: "received", send: "sent" };

export function gatewayRolesOf(mode: GatewayMode): Role[] {
  return mode === "both" ? ["receive", "send"] : [mode];
}

/** `via` names a known postoffice and hub routes never come back to where they started. */
function checkHubs(config: Config): void {
  const byId = new Map(config.postoffices.map((po) => [po.id, po]));
  config.postoffices.forEach((po, i) => {
    if (po.via === undefined) return;
    const path = `postoffices[${i}].via`;
    if (!byId.has(po.via)) throw new ConfigError(path, `unknown postoffice ${po.via}`);
    const chain = [po.id];
    for (let hub: string | undefined = po.via; hub !== undefined; hub = byId.get(hub)?.via) {
      if (chain.includes(hub)) {
        throw new ConfigError(path, `hub routes form a cycle: ${[...chain, hub].join(" → ")}`);
      }
      chain.push(hub);
    }
  });
}

interface Listing {
  readonly gateway: string;
  readonly path: string;
}

/** Postoffice id → the gateway listing it, per role, as written (hubs not followed). */
function listings(config: Config): Record<Role, Map<string, Listing>> {
  const owners: Record<Role, Map<string, Listing>> = { receive: new Map(), send: new Map() };
  const known = new Set(config.postoffices.map((po) => po.id));
  config.gateways.forEach((gw, g) => {
    gw.postoffices.forEach((id, p) => {
      const path = `gateways[${g}].postoffices[${p}]`;
      if (!known.has(id)) throw new ConfigError(path, `unknown postoffice ${id}`);
      for (const role of gatewayRolesOf(gw.mode)) {
        const other = owners[role].get(id);
        if (other !== undefined && other.gateway !== gw.id) {
          throw new ConfigError(
            path,
            `postoffice ${id} is ${ROLE_DONE[role]} by two gateways: ${other.gateway} (${other.path}) and ${gw.id} (${path})`,
          );
        }
        owners[role].set(id, { gateway: gw.id, path });
      }
    });
  });
  return owners;
}

/**
 * Postoffice id → the gateway that receives (or sends) for it. A postoffice reached via a hub
 * and listed by no gateway is served by its hub's gateway (seed Q87030: the hub sits between
 * the downstream postoffice and the gateway). Only for a validated config.
 */
export function servingGateways(config: Config): Record<Role, Map<string, string>> {
  const listed = listings(config);
  const byId = new Map(config.postoffices.map((po) => [po.id, po]));
  const serving = (role: Role, id: string): string | undefined => {
    const seen = new Set<string>();
    for (
      let po = byId.get(id);
      po && !seen.has(po.id);
      po = po.via ? byId.get(po.via) : undefined
    ) {
      seen.add(po.id);
      const l = listed[role].get(po.id);
      if (l) return l.gateway;
    }
    return undefined;
  };
  const result: Record<Role, Map<string, string>> = { receive: new Map(), send: new Map() };
  for (const role of ["receive", "send"] as const) {
    for (const po of config.postoffices) {
      const gw = serving(role, po.id);
      if (gw !== undefined) result[role].set(po.id, gw);
    }
  }
  return result;
}

/** One gateway per postoffice and role; a hub's downstream postoffice stays with its hub's. */
function checkGateways(config: Config): void {
  const listed = listings(config);
  const serving = servingGateways(config);
  config.postoffices.forEach((po, i) => {
    if (po.via === undefined) return;
    for (const role of ["receive", "send"] as const) {
      const own = listed[role].get(po.id);
      const hubs = serving[role].get(po.via);
      if (own && hubs !== undefined && own.gateway !== hubs) {
        throw new ConfigError(
          `postoffices[${i}].via`,
          `${po.id} is reached via hub ${po.via}, which is ${ROLE_DONE[role]} by ${hubs}, but ${own.path} has ${po.id} ${ROLE_DONE[role]} by ${own.gateway}`,
        );
      }
    }
  });
}

/** Alias targets are mailboxes of this network's postoffices. */
function checkAliases(config: Config): void {
  const known = new Set(config.postoffices.map((po) => po.id));
  config.postoffices.forEach((po, i) => {
    for (const [name, target] of Object.entries(po.aliases)) {
      const path = `postoffices[${i}].aliases.${name}`;
      const native = parseNativeAddress(target);
      if (native.network !== config.network) {
        throw new ConfigError(
          path,
          `network ${native.network} is not this network (${config.network})`,
        );
      }
      if (!known.has(native.postoffice)) {
        throw new ConfigError(path, `unknown postoffice ${native.postoffice}`);
      }
    }
  });
}

/**
 * Backbone mail enters the target through its SMTP ingress, so the target receives (not
 * `send`); the gateways using the route deliver, so they send (not `receive`).
 */
function checkAddressSpaces(config: Config): void {
  const gateways = new Map(config.gateways.map((gw) => [gw.id, gw]));
  const ids = config.gateways.map((gw) => gw.id).join(", ");
  const known = new Set(config.postoffices.map((po) => po.id));
  config.addressSpaces.forEach((space, i) => {
    const path = `addressSpaces[${i}]`;
    const target = gateways.get(space.gateway);
    if (!target) {
      throw new ConfigError(
        `${path}.gateway`,
        `address space ${space.pattern} points at unknown gateway ${space.gateway} (gateways: ${ids})`,
      );
    }
    if (target.mode === "send") {
      throw new ConfigError(
        `${path}.gateway`,
        `gateway ${target.id} is send-only: backbone mail enters a gateway through its SMTP ingress`,
      );
    }
    space.from?.forEach((id, f) => {
      const from = gateways.get(id);
      if (!from)
        throw new ConfigError(`${path}.from[${f}]`, `unknown gateway ${id} (gateways: ${ids})`);
      if (id === target.id) {
        throw new ConfigError(`${path}.from[${f}]`, `gateway ${id} cannot route to itself`);
      }
      if (from.mode === "receive") {
        throw new ConfigError(
          `${path}.from[${f}]`,
          `gateway ${id} is receive-only: it delivers nothing, so it carries no backbone mail`,
        );
      }
    });
    const pattern = parseSpacePattern(space.pattern);
    if (typeof pattern !== "string" && pattern.kind === "postoffice") {
      if (pattern.network !== config.network) {
        throw new ConfigError(
          `${path}.pattern`,
          `network ${pattern.network} is not this network (${config.network})`,
        );
      }
      if (!known.has(pattern.postoffice)) {
        throw new ConfigError(`${path}.pattern`, `unknown postoffice ${pattern.postoffice}`);
      }
    }
  });
}

function uniqueBy<T>(
  items: readonly T[],
  key: (item: T) => string,
  list: string,
  field: string,
  describe: (index: number) => string,
): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    const first = seen.get(k);
    if (first !== undefined) {
      throw new ConfigError(
        `${list}[${i}].${field}`,
        `${k} is used by both ${describe(first)} (${list}[${first}].${field}) and ${describe(i)}`,
      );
    }
    seen.set(k, i);
  });
}

/** Parses `a.b.c.d/n` or `x::y/n` into a BlockList-ready form, or undefined if invalid. */
export function parseCidr(
  s: string,
): { address: string; prefix: number; family: "ipv4" | "ipv6" } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m?.[1] || !m[2]) return undefined;
  const version = isIP(m[1]);
  const prefix = Number(m[2]);
  if (version === 0 || prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address: m[1], prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/** A matcher for a list of CIDR blocks; IPv4-mapped IPv6 client addresses match IPv4 blocks. */
export function networkMatcher(cidrs: readonly string[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const c of cidrs) {
    const parsed = parseCidr(c);
    if (parsed) list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return (ip) => {
    const v4 = ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
    const version = isIP(v4);
    return version !== 0 && list.check(v4, version === 4 ? "ipv4" : "ipv6");
  };
}

/** A config text that is not JSON: the parser's complaint with its line and column. */
export function jsonSyntaxError(where: string, text: string, err: unknown): ConfigError {
  const at = jsonErrorPosition(text);
  if (!at) return new ConfigError(where, `not valid JSON: ${(err as Error).message}`);
  const found = at.offset < text.length ? JSON.stringify(text.charAt(at.offset)) : "end of file";
  return new ConfigError(
    where,
    `not valid JSON at line ${at.line}, column ${at.column}: unexpected ${found}`,
  );
}
