/**
 * The one configuration file of a Mailbag network: postoffices, gateways, smart host.
 * Validated once at start (zod); unknown keys are rejected; every error names its field path.
 * The same file drives `mailbag start`, the Lambda functions (as the published directory) and
 * the CDK app.
 */
import { BlockList, isIP } from "node:net";
import { z } from "zod";
import { awsSection } from "./config-aws.ts";
import { ConfigError } from "./errors.ts";

/** MS Mail network and postoffice names: up to 10 characters (seed Q87030; see docs/addresses.md). */
const msMailName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,9}$/,
    "1-10 letters, digits, '-' or '_', starting alphanumeric",
  )
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

const postoffice = z.strictObject({
  id: msMailName,
  domain: domainName,
  /** Who may submit mail from this postoffice to other domains through its gateway. */
  submit: z
    .strictObject({
      networks: z.array(cidr).default([]),
      users: z.array(submitUser).default([]),
    })
    .default({ networks: [], users: [] }),
});

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
  port: z.number().int().min(0).max(65535).optional(),
});

const smtpUrl = z
  .string()
  .refine(
    (s) => /^smtps?:\/\/[^/]+$/.test(s.replace(/\/$/, "")),
    "smtp://[user:pass@]host[:port] or smtps://...",
  )
  .transform((s) => s.replace(/\/$/, ""));

const smartHost = z.union([
  z.strictObject({ url: smtpUrl }),
  z.strictObject({
    ses: z.strictObject({
      region: z.string().optional(),
      configurationSet: z.string().optional(),
    }),
  }),
]);

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
    })
    .default({ maxMessageBytes: 50 * 1024 * 1024, maxRecipients: 100 }),
  queues: z
    .strictObject({
      /** How long a failed record stays invisible (and holds back its FIFO group) before a retry. */
      visibilityTimeoutSeconds: z.number().int().min(1).max(43200).default(60),
      /** Receives before a record goes to the dead-letter queue. */
      maxReceiveCount: z.number().int().min(1).max(1000).default(10),
    })
    .default({ visibilityTimeoutSeconds: 60, maxReceiveCount: 10 }),
  /** Deployment settings read only by the CDK app (infra/). */
  aws: awsSection.optional(),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type Postoffice = Config["postoffices"][number];
export type Gateway = Config["gateways"][number];
export type GatewayMode = Gateway["mode"];
export type SmartHost = Config["smartHost"];

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
 * Validates a parsed config file. Throws ConfigError naming the first offending field.
 * Cross-field rules (unique domains, known postoffices, one receiving gateway per postoffice)
 * run after the shape is valid.
 */
export function parseConfig(input: unknown, env: ConfigEnv = {}): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    if (!issue) throw new ConfigError("(root)", "invalid configuration");
    const keys = issue.code === "unrecognized_keys" ? `: ${issue.keys.join(", ")}` : "";
    throw new ConfigError(formatPath(issue.path) || "(root)", `${issue.message}${keys}`);
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
  const known = new Set(config.postoffices.map((po) => po.id));
  const receiver = new Map<string, string>();
  const sender = new Map<string, string>();
  config.gateways.forEach((gw, g) => {
    gw.postoffices.forEach((id, p) => {
      const path = `gateways[${g}].postoffices[${p}]`;
      if (!known.has(id)) throw new ConfigError(path, `unknown postoffice ${id}`);
      for (const [role, owners] of roles(gw.mode, receiver, sender)) {
        const other = owners.get(id);
        if (other !== undefined && other !== gw.id) {
          throw new ConfigError(path, `postoffice ${id} is already ${role} by gateway ${other}`);
        }
        owners.set(id, gw.id);
      }
    });
  });
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

function* roles(
  mode: GatewayMode,
  receiver: Map<string, string>,
  sender: Map<string, string>,
): Generator<[string, Map<string, string>]> {
  if (mode !== "send") yield ["received", receiver];
  if (mode !== "receive") yield ["sent", sender];
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
