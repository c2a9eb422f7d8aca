/**
 * A whole Mailbag network on one machine: for each gateway of the config, its SMTP ingress and
 * a runner per FIFO queue that invokes the real Lambda handlers. Used by `mailbag start`, the
 * integration tests and the benchmarks.
 */
import type { SMTPServer } from "smtp-server";
import { gatewayCapabilities } from "../../core/capabilities.ts";
import { gatewayResources, type QueueRole } from "../../core/names.ts";
import { recordNetwork } from "../shared/aws-calls.ts";
import { type Runtime, useRuntime } from "../shared/runtime.ts";
import { queueUrlResolver } from "../shared/sqs-queue.ts";
import { type Poller, startIntakePoller } from "./intake-poller.ts";
import { provisionGateway, queueArn } from "./provision.ts";
import { type Runner, type SqsHandler, startRunner } from "./runner.ts";

export interface LocalNetworkOptions {
  readonly runtime: Runtime;
  /** Port of the first gateway's ingress (0: any free port); the next gateways take +1 each. */
  readonly port: number;
  readonly host?: string;
  /** Share the SMTP ports with other processes on this host (SO_REUSEPORT, server.ts listen). */
  readonly reusePort?: boolean;
  /** Create buckets and queues first (emulators; never needed on AWS, where CDK did it). */
  readonly provision: boolean;
  /** Which parts to run; default all. `ingress` alone is the container's role. */
  readonly parts?: Partial<Record<Part, boolean>>;
  readonly waitSeconds?: number;
  readonly closeTimeoutMs?: number;
  /** Run only these gateways of the config (a container runs its own); default all. */
  readonly gateways?: readonly string[];
  /** Invoke these instead of the in-process handlers (the memory benchmark's Lambda stand-ins). */
  readonly handlers?: Partial<Record<QueueRole, SqsHandler>>;
  /** Where a generated TLS certificate is kept (memory only without). */
  readonly dataDir?: string;
}

/** `intake`: the outbound mailbag poller (local stand-in for S3 notifications → intake function). */
export type Part = "ingress" | QueueRole | "intake";
export const PARTS: readonly Part[] = ["ingress", "route", "deliver", "push", "intake"];

export interface LocalGateway {
  readonly id: string;
  readonly port: number | undefined;
  /** The implicit-TLS port (config `tls.implicitPort`), when listening on one. */
  readonly tlsPort?: number | undefined;
  /** Where the ingress's certificate came from (for the start banner). */
  readonly tls?: string | undefined;
  readonly runners: Partial<Record<QueueRole, Runner>>;
  /** Whether this gateway polls its postoffices' outbound mailbags. */
  readonly intake: boolean;
}

export interface LocalNetwork {
  readonly gateways: readonly LocalGateway[];
  /** Drains the ingresses (open sessions finish), then stops the runners after their batch. */
  stop(): Promise<void>;
}

/** Each part's code is loaded only in a process that runs it (the ingress container has no handlers). */
const HANDLERS: Record<QueueRole, () => Promise<SqsHandler>> = {
  route: async () => (await import("../router/index.ts")).handler as unknown as SqsHandler,
  deliver: async () => (await import("../deliver/index.ts")).handler as unknown as SqsHandler,
  // Push delivery is the delivery handler on the push queue (jobs name their postoffice).
  push: async () => (await import("../deliver/index.ts")).handler as unknown as SqsHandler,
};

export async function startLocalNetwork(opts: LocalNetworkOptions): Promise<LocalNetwork> {
  const { runtime } = opts;
  const { config, clients } = runtime;
  recordNetwork(config.prefix, config.gateways);
  useRuntime(runtime);
  const resolveUrl = queueUrlResolver(clients.sqs);
  const servers: SMTPServer[] = [];
  const unwatch: (() => void)[] = [];
  const ingress = opts.parts?.ingress === false ? undefined : await import("../ingress/server.ts");
  const tls = ingress ? await import("../ingress/tls.ts") : undefined;
  const gateways: LocalGateway[] = [];
  const pollers: Poller[] = [];
  const retries: Runner[] = [];
  for (const [index, gw] of config.gateways.entries()) {
    if (opts.gateways && !opts.gateways.includes(gw.id)) continue;
    if (opts.provision) await provisionGateway(clients, config, gw.id);
    let port: number | undefined;
    let tlsPort: number | undefined;
    let tlsSource: string | undefined;
    if (ingress && tls) {
      const hostname = gw.hostname ?? `${gw.id.toLowerCase()}.mailbag.invalid`;
      const material = await tls.loadTls({ settings: config.tls, hostname, dataDir: opts.dataDir });
      tlsSource = material.source;
      const common = {
        map: runtime.map,
        gatewayId: gw.id,
        hostname,
        deps: runtime.acceptDeps(gw.id),
        secrets: process.env,
        tls: material,
        shared: ingress.ingressShared(config),
        ...(opts.closeTimeoutMs !== undefined ? { closeTimeoutMs: opts.closeTimeoutMs } : {}),
      };
      const server = ingress.createIngress(common);
      const wanted = gw.port ?? (opts.port === 0 ? 0 : opts.port + index);
      port = await ingress.listen(server, wanted, opts.host ?? "127.0.0.1", opts.reusePort);
      servers.push(server);
      const listeners = [server];
      if (config.tls.implicitPort !== undefined) {
        const implicit = ingress.createIngress({ ...common, secure: true });
        const wantedTls = opts.port === 0 ? 0 : config.tls.implicitPort + index;
        tlsPort = await ingress.listen(
          implicit,
          wantedTls,
          opts.host ?? "127.0.0.1",
          opts.reusePort,
        );
        servers.push(implicit);
        listeners.push(implicit);
      }
      unwatch.push(
        tls.watchTlsFiles(config.tls, (m) => {
          for (const l of listeners) l.updateSecureContext({ key: m.key, cert: m.cert });
        }),
      );
      // Backbone mail from the other gateways comes here (runtime.ts, nextHopTransport).
      const host = opts.host && !/^(0\.0\.0\.0|::)$/.test(opts.host) ? opts.host : "127.0.0.1";
      runtime.ingressUrls.set(gw.id, `smtp://${host.includes(":") ? `[${host}]` : host}:${port}`);
    }
    const runners: Partial<Record<QueueRole, Runner>> = {};
    for (const role of gatewayCapabilities(gw).queues.filter((r) => opts.parts?.[r] ?? true)) {
      const name = gatewayResources(config.prefix, gw.id).queues[role];
      const queueUrl = await resolveUrl(name);
      const start = (url: string, arn: string) =>
        startRunner({
          sqs: clients.sqs,
          queueUrl: url,
          queueArn: arn,
          region: clients.settings.region,
          functionName: `${config.prefix}-${gw.id}-${role}`,
          role,
          gateway: gw.id,
          handler,
          ...(opts.waitSeconds !== undefined ? { waitSeconds: opts.waitSeconds } : {}),
        });
      const handler = await HANDLERS[role]();
      runners[role] = start(queueUrl, await queueArn(clients, queueUrl));
      if (role === (gatewayCapabilities(gw).sends ? "deliver" : "push")) {
        // Its second event source, as deployed (infra/gateway-stack.ts): the retry queue
        // (core/retry.ts) is the delivery function's, on a gateway that does not send push's.
        const retryUrl = await resolveUrl(gatewayResources(config.prefix, gw.id).retryQueue);
        retries.push(start(retryUrl, await queueArn(clients, retryUrl)));
      }
    }
    const intake = gw.mode !== "receive" && (opts.parts?.intake ?? true);
    if (intake) {
      pollers.push(startIntakePoller(runtime, gw.id));
    }
    gateways.push({ id: gw.id, port, tlsPort, tls: tlsSource, runners, intake });
  }
  return {
    gateways,
    async stop() {
      for (const u of unwatch) u();
      await Promise.all(servers.map((s) => ingress?.drain(s)));
      await Promise.all(pollers.map((p) => p.stop()));
      await Promise.all(gateways.flatMap((g) => Object.values(g.runners).map((r) => r.stop())));
      await Promise.all(retries.map((r) => r.stop()));
    },
  };
}
