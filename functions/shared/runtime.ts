/**
 * Everything a handler or the ingress needs for one gateway, built once per process (a Lambda
 * cold start, or `mailbag start`) from the validated config and the AWS clients.
 */
import type { AcceptDeps } from "../../core/accept.ts";
import { type AddressMap, buildAddressMap, ingressUrlOf } from "../../core/address-map.ts";
import { nextHopTransport } from "../../core/backbone.ts";
import type { Config } from "../../core/config.ts";
import type { DeadLetterDeps } from "../../core/dead-letter.ts";
import type { DeliverDeps } from "../../core/deliver.ts";
import { BackendUnavailableError, ConfigError } from "../../core/errors.ts";
import type { IntakeDeps } from "../../core/intake.ts";
import { gatewayResources } from "../../core/names.ts";
import type { JobQueue, SmartHostTransport } from "../../core/ports.ts";
import type { ReportDeps } from "../../core/report.ts";
import type { RetryDeps } from "../../core/retry.ts";
import type { RouterDeps } from "../../core/route-message.ts";
import { type AwsClients, awsSettingsFromEnv, createAwsClients } from "./aws.ts";
import { countedAs } from "./aws-calls.ts";
import { configSource, loadConfig } from "./config-file.ts";
import { s3Store } from "./s3-store.ts";
import { smtpTransport } from "./smtp-transport.ts";
import { sqsQueue } from "./sqs-queue.ts";

export interface Runtime {
  readonly config: Config;
  readonly map: AddressMap;
  readonly clients: AwsClients;
  readonly queue: JobQueue;
  /** Gateway id → smtp:// URL of its ingress running in this process; beats its ingressUrl. */
  readonly ingressUrls: Map<string, string>;
  /** The SMTP transport of gateway `gatewayId` to `url`: one per gateway and next hop. */
  peerTransport(gatewayId: string, url: string, helo?: string): SmartHostTransport;
  acceptDeps(gatewayId: string): AcceptDeps;
  routerDeps(gatewayId: string): RouterDeps;
  /** The outbound mailbag intake: the accept path plus the address map. */
  intakeDeps(gatewayId: string): IntakeDeps;
  /** For a push job (`postoffice` set), the postoffice's own server is the transport. */
  deliverDeps(gatewayId: string, postoffice?: string): DeliverDeps;
  retryDeps(gatewayId: string): RetryDeps;
  /** Where a gateway's reports (bounces) enter: its own accept path. */
  reportDeps(gatewayId: string): ReportDeps;
  deadLetterDeps(gatewayId: string): DeadLetterDeps;
}

/**
 * On AWS the mailbag buckets have names CloudFormation generates (a retained bucket with a fixed
 * name would make every retry of a rolled-back deploy fail with "already exists"), so the stack
 * hands each part its gateway's bucket: MAILBAG_GATEWAY + MAILBAG_BUCKET. Emulators keep the
 * deterministic names of core/names.ts.
 */
export function bucketOverrides(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const { MAILBAG_GATEWAY: gateway, MAILBAG_BUCKET: bucket } = env;
  return gateway && bucket ? { [gateway]: bucket } : {};
}

export function createRuntime(
  config: Config,
  clients: AwsClients,
  buckets: Readonly<Record<string, string>> = {},
): Runtime {
  const map = buildAddressMap(config);
  const queue = sqsQueue(clients.sqs);
  const names = (gatewayId: string) => {
    if (!map.gateways.has(gatewayId))
      throw new ConfigError("gateway", `unknown gateway ${gatewayId}`);
    const resources = gatewayResources(config.prefix, gatewayId);
    const bucket = buckets[gatewayId];
    return bucket ? { ...resources, bucket } : resources;
  };
  const ingressUrls = new Map<string, string>();
  const helo = (gw: string) => map.gateways.get(gw)?.hostname ?? "mailbag.invalid";
  // Before gateways had hostnames per line, the smart host heard the first one's: kept for those without.
  const anyHostname = config.gateways.find((g) => g.hostname)?.hostname ?? "mailbag.invalid";
  // One transport per gateway and next hop (the smart host, another gateway's ingress, a
  // postoffice's server), kept for the process: smtpTransport reuses its one idle connection,
  // so consecutive jobs of one gateway's line share one SMTP session. Keyed by gateway too:
  // shared by two gateways' lines in one process, that one connection was taken by one line
  // while the other opened its own, and every overlap closed one (267 of 2,000 deliveries
  // reconnected with two gateways in the bench).
  const peers = new Map<string, SmartHostTransport>();
  const peerTransport = (gw: string, url: string, name = helo(gw)): SmartHostTransport => {
    const key = `${gw} ${url}`;
    let t = peers.get(key);
    if (!t) {
      t = smtpTransport(url, name);
      peers.set(key, t);
    }
    return t;
  };
  const sh = config.smartHost;
  let smartHost: (gw: string) => SmartHostTransport;
  if ("url" in sh) {
    const { url } = sh;
    smartHost = (gw) => peerTransport(gw, url, map.gateways.get(gw)?.hostname ?? anyHostname);
  } else {
    const ses = sesSmartHost(sh.ses, clients);
    smartHost = () => ses;
  }
  const pushTransport = (gw: string, postoffice: string): SmartHostTransport => {
    const url = map.byId.get(postoffice)?.inbound?.deliver;
    if (!url)
      throw new ConfigError("postoffices", `postoffice ${postoffice} has no inbound.deliver`);
    return peerTransport(gw, url);
  };
  const acceptDeps = (gw: string): AcceptDeps => ({
    store: s3Store(clients.s3, names(gw).bucket),
    queue,
    routeQueue: names(gw).queues.route,
  });
  const reportDeps = (gw: string): ReportDeps => ({
    accept: acceptDeps(gw),
    reportingMta: map.gateways.get(gw)?.hostname ?? `${gw.toLowerCase()}.mailbag.invalid`,
    gateway: gw,
    maxBytes: config.limits.maxMessageBytes,
  });
  const retryDeps = (gw: string): RetryDeps => ({
    queue,
    deliverQueue: names(gw).queues.deliver,
    pushQueue: names(gw).queues.push,
    retryQueue: names(gw).retryQueue,
  });
  return {
    config,
    map,
    clients,
    queue,
    ingressUrls,
    peerTransport,
    acceptDeps: (gw) => ({
      store: countedAs("ingress", s3Store(clients.s3, names(gw).bucket), gw),
      queue: countedAs("ingress", queue, gw),
      routeQueue: names(gw).queues.route,
    }),
    intakeDeps: (gw) => ({
      store: s3Store(clients.s3, names(gw).bucket),
      queue,
      routeQueue: names(gw).queues.route,
      map,
      gatewayId: gw,
      hostname: map.gateways.get(gw)?.hostname ?? `${gw.toLowerCase()}.mailbag.invalid`,
    }),
    reportDeps,
    retryDeps,
    deadLetterDeps: (gw) => ({
      store: s3Store(clients.s3, names(gw).bucket),
      queue,
      reports: reportDeps(gw),
    }),
    routerDeps: (gw) => ({
      map,
      store: s3Store(clients.s3, names(gw).bucket),
      queue,
      deliverQueue: names(gw).queues.deliver,
      pushQueue: names(gw).queues.push,
      reports: reportDeps(gw),
    }),
    deliverDeps: (gw, postoffice) => ({
      ...retryDeps(gw),
      store: s3Store(clients.s3, names(gw).bucket),
      policy: config.delivery,
      reports: reportDeps(gw),
      transport: postoffice
        ? pushTransport(gw, postoffice)
        : nextHopTransport(map, gw, smartHost(gw), (peer) => {
            // Backbone: the next gateway's SMTP ingress (docs/routing.md#backbone).
            const target = map.gateways.get(peer);
            const url = ingressUrls.get(peer) ?? (target && ingressUrlOf(target));
            if (!url)
              throw new BackendUnavailableError(`gateway ${peer} has no ingressUrl or hostname`);
            return peerTransport(gw, url);
          }),
    }),
  };
}

/** Amazon SES as the smart host (one for the process: a stateless API, no connection to keep). */
function sesSmartHost(
  sh: Extract<Config["smartHost"], { ses: unknown }>["ses"],
  clients: AwsClients,
): SmartHostTransport {
  return lazyTransport(async () =>
    (await import("./ses-transport.ts")).sesTransport(
      // smartHost.ses.region: SES may be in another region than the gateway's queues.
      { ...clients.settings, region: sh.region ?? clients.settings.region },
      { configurationSet: sh.configurationSet, api: sh.api },
    ),
  );
}

/** Loads a transport's code on first use: the SES SDK stays out of processes that never send. */
function lazyTransport(load: () => Promise<SmartHostTransport>): SmartHostTransport {
  let transport: Promise<SmartHostTransport> | undefined;
  return {
    async send(from, to, body, size, options) {
      transport ??= load();
      return (await transport).send(from, to, body, size, options);
    },
  };
}

let cached: Promise<Runtime> | undefined;

/**
 * The Lambda runtime: config from the published directory (MAILBAG_DIRECTORY, set by the CDK
 * stack) or else from MAILBAG_CONFIG (a file beside the function), clients from the standard AWS
 * environment. Loaded once per cold start; a failed load is not cached so the next invocation
 * tries again.
 */
export function lambdaRuntime(): Promise<Runtime> {
  if (!cached) {
    const clients = createAwsClients(awsSettingsFromEnv());
    const loaded = loadConfig(configSource(undefined, () => clients.s3));
    cached = loaded.then(({ config }) => createRuntime(config, clients, bucketOverrides()));
    cached.catch(() => {
      cached = undefined;
    });
  }
  return cached;
}

/** Lets the local runner hand its own runtime to the very same handlers. */
export function useRuntime(runtime: Runtime): void {
  cached = Promise.resolve(runtime);
}
