/** Configs and in-memory ports for the routing tests. */
import { readdirSync, readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { type AddressMap, buildAddressMap } from "../../core/address-map.ts";
import { type Config, type ConfigInput, parseConfig } from "../../core/config.ts";
import { deliverySection } from "../../core/config-delivery.ts";
import type { DeliverDeps } from "../../core/deliver.ts";
import { MessageGoneError } from "../../core/errors.ts";
import type { JobQueue, MailbagStore, SmartHostTransport } from "../../core/ports.ts";

const ROOT = new URL("../../", import.meta.url);

/** A config file of the repository, parsed as JSON (not validated). */
export function rawConfig(path: string): ConfigInput {
  return JSON.parse(readFileSync(new URL(path, ROOT), "utf8")) as ConfigInput;
}

/** Every example config: `examples/*.json`, as paths for rawConfig/config, read from the folder. */
export function exampleConfigs(): string[] {
  const files = readdirSync(new URL("examples/", ROOT)).filter((f) => f.endsWith(".json"));
  return files.sort().map((f) => `examples/${f}`);
}

/** The default config (HQ + SALES on GW1) or an example, changed, then validated. */
export function config(
  path = "mailbag.config.json",
  change: (c: ConfigInput) => void = () => {},
): Config {
  const raw = rawConfig(path);
  change(raw);
  return parseConfig(raw, {});
}

export function map(path?: string, change?: (c: ConfigInput) => void): AddressMap {
  return buildAddressMap(config(path, change));
}

/** Seed Q148389's two sites: PO1 on GW-A, PO2 on GW-B, an address space each way. */
export const backbone = (change?: (c: ConfigInput) => void) =>
  map("examples/backbone.json", change);

/** A bucket in memory: enough for the router. */
export function memoryStore(): MailbagStore & { objects: Map<string, unknown> } {
  const objects = new Map<string, unknown>();
  return {
    objects,
    async putStream(key: string, body: Readable) {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      objects.set(key, Buffer.concat(chunks));
    },
    async putJson(key, value) {
      objects.set(key, JSON.parse(JSON.stringify(value)));
    },
    async getJson(key) {
      return objects.get(key);
    },
    async getStream(key: string) {
      const bytes = objects.get(key);
      if (!Buffer.isBuffer(bytes)) throw new MessageGoneError(key);
      return Readable.from([bytes]);
    },
    async copy(from, to) {
      if (!objects.has(from)) throw new MessageGoneError(from);
      objects.set(to, objects.get(from));
    },
    async delete(keys) {
      for (const k of keys) objects.delete(k);
    },
    async list() {
      throw new Error("not used");
    },
  };
}

export interface SentJob {
  readonly queue: string;
  readonly body: unknown;
  readonly group: string;
  readonly dedup: string;
  readonly delaySeconds?: number;
}

export function memoryQueue(): JobQueue & { sent: SentJob[] } {
  const sent: SentJob[] = [];
  return {
    sent,
    async send(queue, body, group, dedup) {
      sent.push({ queue, body, group, dedup });
    },
    async sendBatch(queue, jobs) {
      for (const j of jobs)
        sent.push({ queue, body: j.body, group: j.groupId, dedup: j.deduplicationId });
      return jobs.length;
    },
    async sendDelayed(queue, body, delaySeconds) {
      sent.push({ queue, body, group: "", dedup: "", delaySeconds });
    },
    async postpone() {},
  };
}

/** Delivery deps over a memory store and queue (reports accepted into the same store). */
export function memoryDeliverDeps(
  store: MailbagStore,
  queue: JobQueue,
  transport: SmartHostTransport,
  now?: () => Date,
): DeliverDeps {
  return {
    store,
    transport,
    policy: deliverySection.parse({}),
    reports: {
      accept: { store, queue, routeQueue: "route" },
      reportingMta: "gw.test",
      gateway: "GW1",
      maxBytes: 1_000_000,
      ...(now ? { now } : {}),
    },
    queue,
    deliverQueue: "deliver",
    pushQueue: "push",
    retryQueue: "retry",
    ...(now ? { now } : {}),
  };
}
