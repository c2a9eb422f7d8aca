/**
 * The `aws` section of the config: what only the CDK app reads (deployment settings). Kept in
 * its own file so the infrastructure can grow without touching the gateway's own schema.
 * Every key is optional; the defaults are what docs/deploy.md prices.
 */
import { z } from "zod";
import { int } from "./config-int.ts";

/** S3 lifecycle of each gateway's mailbag bucket. */
const mailbag = z.strictObject({
  /** Days before `messages/*` (the spool: accepted mail, envelopes, delivery status) expires. */
  spoolExpireDays: int(1, 3650).default(90),
  /** Days before `inbound/*` (postoffices' inbound bags) expires; omitted: kept until fetched. */
  inboundExpireDays: int(1, 3650).optional(),
  /** Days before objects move to S3 Standard-IA (S3 skips objects under 128 KB). */
  infrequentAccessDays: int(30, 3650).default(30),
});

const functions = z.strictObject({
  routerMemoryMB: int(128, 10240).default(128),
  deliverMemoryMB: int(128, 10240).default(128),
  /**
   * Timeout of the router and the delivery function. Their queues' visibility timeout is derived
   * from it (at least 6x, https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html),
   * and it must exceed the SMTP client's timeouts (functions/shared/smtp-transport.ts).
   */
  timeoutSeconds: int(30, 900).default(60),
  /**
   * Concurrency reserved for each ordered consumer (router, delivery): a gateway's one FIFO group
   * needs one execution at a time, and a reservation keeps other functions of the account from
   * starving it. The event source's maximum concurrency is set to the same value so Lambda never
   * throttles (a throttled receive still counts toward maxReceiveCount). `null`: reserve nothing,
   * for new accounts whose concurrency quota is 10 (Lambda keeps 10 unreserved).
   */
  reservedConcurrency: int(2, 1000).nullable().default(2),
  logRetentionDays: z
    .union([
      z.literal(1),
      z.literal(7),
      z.literal(14),
      z.literal(30),
      z.literal(90),
      z.literal(365),
    ])
    .default(30),
});

/** The SMTP ingress service (ECS Fargate behind a Network Load Balancer). */
const ingress = z
  .strictObject({
    /** Fargate CPU units and memory (MiB); 256/512 is the smallest task. */
    cpu: z.union([z.literal(256), z.literal(512), z.literal(1024)]).default(256),
    memoryMiB: int(512, 8192).default(512),
    /** Tasks always running (2: one per Availability Zone) and the ceiling of scaling out. */
    minTasks: int(1, 100).default(2),
    maxTasks: int(1, 100).default(6),
    /** Open SMTP connections per healthy task above which the service adds a task. */
    connectionsPerTask: int(10, 10000).default(200),
    /**
     * Secrets Manager secret (name) holding the STARTTLS certificate chain and key as JSON
     * `{"cert": "-----BEGIN CERTIFICATE-----...", "key": "-----BEGIN PRIVATE KEY-----..."}`;
     * the task gets them as MAILBAG_TLS_CERT / MAILBAG_TLS_KEY. See docs/deploy.md for where
     * to get one (the NLB passes TCP through, so ACM certificates cannot be used).
     */
    tlsSecret: z
      .string()
      .regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, "a Secrets Manager secret name")
      .optional(),
    /**
     * One Elastic IP per Availability Zone on the load balancer, so the addresses MX targets and
     * smart-host hosts tables point at never change (default quota: 5 per region).
     */
    elasticIps: z.boolean().default(true),
  })
  .refine((i) => i.maxTasks >= i.minTasks, {
    message: "maxTasks must be at least minTasks",
    path: ["maxTasks"],
  });

const alarms = z.strictObject({
  /** Age of the oldest message in a routing or delivery queue that raises an alarm. */
  oldestMessageSeconds: int(60, 1209600).default(900),
  /** SNS topic every alarm notifies; omitted: each gateway stack creates one. */
  topicArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/, "an SNS topic ARN")
    .optional(),
  /** Subscribed to the topic the stack creates when no topicArn is given. */
  email: z.email().optional(),
});

/** Route 53 hosted zones that get an MX record per postoffice domain they contain. */
const hostedZone = z.strictObject({
  id: z.string().regex(/^Z[A-Z0-9]{1,31}$/, "a Route 53 hosted zone id such as Z0123456789ABC"),
  name: z
    .string()
    .regex(/^([a-z0-9-]+\.)*[a-z0-9-]+$/, "a lower-case zone name such as company.example"),
});

export const awsSection = z.strictObject({
  /** Target account and region of every stack; omitted: the CDK CLI's environment. */
  account: z
    .string()
    .regex(/^\d{12}$/, "a 12-digit AWS account id")
    .optional(),
  region: z.string().optional(),
  // prefault: an omitted section is parsed as `{}`, so each field's own default applies.
  mailbag: mailbag.prefault({}),
  functions: functions.prefault({}),
  ingress: ingress.prefault({}),
  alarms: alarms.prefault({}),
  /**
   * One VPC for every gateway (in the `Mailbag-<prefix>-network` stack) instead of one each:
   * the default quota is 5 VPCs per region, and the larger layouts need 18-24 gateways.
   */
  sharedVpc: z.boolean().default(false),
  dns: z
    .strictObject({ zones: z.array(hostedZone).min(1), ttlSeconds: int(60, 86400).default(300) })
    .optional(),
});

export type AwsSection = z.output<typeof awsSection>;

/** The section with every default applied, for configs that omit `aws`. */
export function awsSettings(section: AwsSection | undefined): AwsSection {
  return section ?? awsSection.parse({});
}
