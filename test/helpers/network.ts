/**
 * Test rig: an AWS backend (the embedded emulator, or the endpoint in AWS_ENDPOINT_URL when
 * MAILBAG_TEST_BACKEND=endpoint, e.g. LocalStack), a unique resource prefix per run, and a local
 * Mailbag network on port 0. The integration suite runs once per backend.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { type Config, type ConfigInput, parseConfig } from "../../core/config.ts";
import { isMailbagError } from "../../core/errors.ts";
import { gatewayResources, keys } from "../../core/names.ts";
import { startEmulator } from "../../functions/local/emulator.ts";
import { type LocalNetwork, type Part, startLocalNetwork } from "../../functions/local/gateway.ts";
import { type AwsClients, createAwsClients } from "../../functions/shared/aws.ts";
import { createRuntime, type Runtime } from "../../functions/shared/runtime.ts";
import { s3Store } from "../../functions/shared/s3-store.ts";
import { startProxy, type TcpProxy } from "./proxy.ts";

process.env.MAILBAG_LOG ??= "silent";

export interface Backend {
  readonly name: string;
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startBackend(): Promise<Backend> {
  if (process.env.MAILBAG_TEST_BACKEND === "endpoint") {
    const endpoint = process.env.AWS_ENDPOINT_URL;
    if (!endpoint) throw new Error("MAILBAG_TEST_BACKEND=endpoint needs AWS_ENDPOINT_URL");
    return { name: `endpoint ${endpoint}`, endpoint, stop: async () => {} };
  }
  const emulator = await startEmulator();
  return { name: "embedded emulator", endpoint: emulator.endpoint, stop: () => emulator.stop() };
}

/** A resource prefix no other run uses: tests never see each other's buckets or queues. */
export function uniquePrefix(): string {
  return `t${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
}

/** The repo's default config (seed Q87030), with a unique prefix, fast retries and the given smart host. */
export function testConfig(
  smartHostUrl: string,
  change: (c: ConfigInput) => void = () => {},
): Config {
  const input = JSON.parse(
    readFileSync(new URL("../../mailbag.config.json", import.meta.url), "utf8"),
  ) as ConfigInput;
  input.prefix = uniquePrefix();
  input.smartHost = { url: smartHostUrl };
  input.queues = { visibilityTimeoutSeconds: 2, maxReceiveCount: 50 };
  // Retries and waits for the next hop in seconds, not minutes (core/config-delivery.ts).
  input.delivery = {
    retry: { initialSeconds: 1, maxSeconds: 2 },
    hold: { initialSeconds: 1, maxSeconds: 2 },
    queueLifetimeSeconds: 1800,
  };
  change(input);
  return parseConfig(input, process.env);
}

export interface TestNetwork {
  readonly runtime: Runtime;
  readonly network: LocalNetwork;
  readonly clients: AwsClients;
  /** The SMTP port of a gateway's ingress. */
  port(gatewayId?: string): number;
  /** Text of an object in a gateway's mailbag, or undefined. */
  object(key: string, gatewayId?: string): Promise<string | undefined>;
  /**
   * Whether an object is there, by HeadObject: a poll for "taken away" must not GET the object,
   * since LocalStack cuts a GetObject response whose object is deleted meanwhile (ECONNRESET).
   */
  exists(key: string, gatewayId?: string): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startTestNetwork(
  config: Config,
  endpoint: string,
  parts?: Partial<Record<Part, boolean>>,
): Promise<TestNetwork> {
  const clients = createAwsClients({ endpoint, region: process.env.AWS_REGION ?? "us-east-1" });
  const runtime = createRuntime(config, clients);
  const network = await startLocalNetwork({
    runtime,
    port: 0,
    provision: true,
    waitSeconds: 1,
    closeTimeoutMs: 5_000,
    ...(parts ? { parts } : {}),
  });
  const firstGateway = config.gateways[0]?.id ?? "";
  return {
    runtime,
    network,
    clients,
    port(gatewayId = firstGateway) {
      const port = network.gateways.find((g) => g.id === gatewayId)?.port;
      if (port === undefined) throw new Error(`gateway ${gatewayId} has no ingress`);
      return port;
    },
    async object(key, gatewayId = firstGateway) {
      const store = s3Store(clients.s3, gatewayResources(config.prefix, gatewayId).bucket);
      try {
        const stream = await store.getStream(key);
        const chunks: Buffer[] = [];
        for await (const c of stream) chunks.push(c as Buffer);
        return Buffer.concat(chunks).toString("utf8");
      } catch (err) {
        if (isMailbagError(err) && err.code === "message-gone") return undefined;
        throw err;
      }
    },
    async exists(key, gatewayId = firstGateway) {
      const Bucket = gatewayResources(config.prefix, gatewayId).bucket;
      try {
        await clients.s3.send(new HeadObjectCommand({ Bucket, Key: key }));
        return true;
      } catch (err) {
        if ((err as { name?: string }).name === "NotFound") return false;
        throw err;
      }
    },
    stop: () => network.stop(),
  };
}

export { keys };

/** A fixture message from test/fixtures. */
export const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../fixtures/${name}`, import.meta.url));

export interface PartitionableRig {
  readonly backend: Backend;
  /** Between the gateway and the backend: `down()` is "the backend is down". */
  readonly proxy: TcpProxy;
  readonly gw: TestNetwork;
  stop(): Promise<void>;
}

/** A backend, a cuttable proxy in front of it, and a network of `config` talking through it. */
export async function startPartitionable(
  config: Config,
  parts?: Partial<Record<Part, boolean>>,
): Promise<PartitionableRig> {
  const backend = await startBackend();
  const proxy = await startProxy(new URL(backend.endpoint));
  const gw = await startTestNetwork(config, proxy.endpoint, parts);
  return {
    backend,
    proxy,
    gw,
    async stop() {
      await gw.stop();
      await proxy.close();
      await backend.stop();
    },
  };
}
