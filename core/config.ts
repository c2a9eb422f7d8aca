/**
 * The one configuration file of a Mailbag network: postoffices, gateways, smart host.
 * Validated once at start (zod); unknown keys are rejected; every error names its field path.
 * The same file drives `mailbag start`, the Lambda functions (as the published directory) and
 * the CDK app.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { MS_MAIL_NAME, MS_MAIL_NAME_RULE, parseNativeAddress } from "./address.ts";
import { parseSpacePattern } from "./address-space.ts";
import { parseCidr } from "./cidr.ts";
import { awsSection } from "./config-aws.ts";
import { deliverySection } from "./config-delivery.ts";
import { authSection, limitsSection, tlsSection } from "./config-ingress.ts";
import { int } from "./config-int.ts";
import { checkReferences } from "./config-rules.ts";
import { ConfigError, formatPath } from "./errors.ts";

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
    .prefault({}),
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
  port: int(1, 65535).optional(),
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
  cost: int(1, 100).default(1),
  /** The gateways that use this route; default every gateway but the target. */
  from: z.array(gatewayId).min(1).optional(),
});

const smartHost = z.union([
  z.strictObject({ url: smtpUrl }),
  z.strictObject({
    ses: z.strictObject({
      region: z.string().optional(),
      configurationSet: z.string().optional(),
      /** SES API: "v2" SendEmail (40 MB, the default) or "v1" SendRawEmail (10 MB; LocalStack). */
      api: z.enum(["v2", "v1"]).optional(),
    }),
  }),
]);

const configShape = z.strictObject({
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
  limits: limitsSection,
  /** SMTP AUTH guessing defence (functions/ingress/server.ts, core/auth-guard.ts). */
  auth: authSection,
  /** The ingress's TLS certificate (functions/ingress/tls.ts). */
  tls: tlsSection,
  queues: z
    .strictObject({
      /**
       * How long a job being worked on stays invisible: the function timeout, and the wait
       * before a job that failed for an unexpected reason (not a 4xx, not an unreachable next
       * hop: those follow `delivery`) is tried again.
       */
      visibilityTimeoutSeconds: int(1, 43200).default(60),
      /**
       * Receives of a job after which one that fails for an unexpected reason is moved to its
       * dead-letter queue (logged at error level with the mail id, noted in its status record).
       */
      maxReceiveCount: int(1, 1000).default(10),
    })
    .prefault({}),
  /** Retries, queue lifetime and waiting for the next hop (core/config-delivery.ts). */
  delivery: deliverySection,
  /** Deployment settings read only by the CDK app (infra/). */
  aws: awsSection.optional(),
});

/**
 * The whole file: its shape, then the cross-field rules (unique domains, known postoffices, one
 * receiving gateway per postoffice...) as a zod refinement, so every issue comes out of the one
 * safeParse with its path. The refinement runs only once the shape is valid.
 */
const configSchema = configShape.superRefine(
  (config, ctx) =>
    checkReferences(config, (path, message) => ctx.addIssue({ code: "custom", path, message })),
  // Field refinements (alias targets, address space patterns) report continuable issues: the
  // cross-field rules would then read values that are not what the types say.
  { when: (payload) => payload.issues.length === 0 },
);

export type Config = z.output<typeof configShape>;
export type ConfigInput = z.input<typeof configShape>;
export type Postoffice = Config["postoffices"][number];
export type Gateway = Config["gateways"][number];
export type GatewayMode = Gateway["mode"];
export type SmartHost = Config["smartHost"];
export type AddressSpace = Config["addressSpaces"][number];
export type UnknownMailboxPolicy = Postoffice["unknownMailbox"];
export type InboundDelivery = NonNullable<Postoffice["inbound"]>;

export interface ConfigEnv {
  /** `MAILBAG_SMART_HOST`: an smtp:// URL that replaces the configured smart host. */
  readonly MAILBAG_SMART_HOST?: string | undefined;
  readonly [name: string]: string | undefined;
}

/**
 * Validates a parsed config file, and nothing else: the submit users' passwords are the
 * ingress's business (functions/ingress/server.ts). Throws one ConfigError listing every issue,
 * each naming its field.
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
  return config;
}
