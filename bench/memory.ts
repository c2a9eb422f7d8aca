/**
 * `npm run bench:memory`: relays one large message (default 100 MiB, BENCH_BYTES to change)
 * end to end with every part in its own process — emulator, ingress, router, delivery — and
 * prints the ingress's RSS growth and the router's and delivery's peak RSS. Budgets (issue 2):
 * ingress growth < 64 MiB, router and delivery peak < 128 MiB (the smallest Lambda size).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalNetwork } from "../functions/local/gateway.ts";
import { createAwsClients } from "../functions/shared/aws.ts";
import { createRuntime } from "../functions/shared/runtime.ts";
import { send } from "../test/helpers/client.ts";
import { testConfig } from "../test/helpers/network.ts";
import { waitUntil } from "../test/helpers/sink.ts";
import { countingSink, generatedMessage, lambdaHost, mailbag, rss, sampleRss } from "./lib.ts";

/**
 * The ingress container's V8 setting (Dockerfile): streaming allocates many short-lived Buffers
 * whose memory is only returned when their small wrappers are collected; a 1 MiB young
 * generation collects them about every megabyte instead of every 16.
 */
const INGRESS_NODE_OPTIONS = "--max-semi-space-size=1";

export interface MemoryResult {
  bytes: number;
  ingressBaselineMiB: number;
  ingressGrowthMiB: number;
  routerPeakMiB: number;
  deliverPeakMiB: number;
  acceptSeconds: number;
  relaySeconds: number;
  intact: boolean;
}

export async function memoryBench(bytes: number): Promise<MemoryResult> {
  const dir = mkdtempSync(join(tmpdir(), "mailbag-bench-"));
  const sink = await countingSink();
  const config = testConfig(sink.url, (c) => {
    c.limits = { maxMessageBytes: bytes + 1024 * 1024, maxRecipients: 100 };
  });
  const configFile = join(dir, "config.json");
  writeFileSync(configFile, JSON.stringify(config));
  const emulator = await mailbag(
    ["emulator", "--port", "0", "--data-dir", join(dir, "state")],
    /listening at (http:\/\/[\d.:]+)/,
  );
  const env = { AWS_ENDPOINT_URL: emulator.match };
  const common = ["start", "--config", configFile, "--port", "0"];
  const procs: { stop(): Promise<void> }[] = [emulator];
  try {
    const ingress = await mailbag([...common, "--only", "ingress"], /SMTP on [\d.]+:(\d+)/, {
      ...env,
      NODE_OPTIONS: process.env.BENCH_INGRESS_NODE_OPTIONS ?? INGRESS_NODE_OPTIONS,
    });
    procs.push(ingress);
    // Each function is its esbuild bundle in a process of its own (the Lambda stand-in); this
    // process polls the queues and invokes them, as Lambda's event source mapping does.
    const router = await lambdaHost("router", configFile, env);
    const deliver = await lambdaHost("deliver", configFile, env);
    procs.push(router, deliver);
    const clients = createAwsClients({ endpoint: emulator.match, region: "us-east-1" });
    const network = await startLocalNetwork({
      runtime: createRuntime(config, clients),
      port: 0,
      provision: false,
      parts: { ingress: false, route: true, deliver: true },
      handlers: { route: router.invoke, deliver: deliver.invoke },
      waitSeconds: 1,
    });
    procs.push({ stop: () => network.stop() });
    const port = Number(ingress.match);

    // Warm-up: one small message through every part, so code loading is not counted as growth.
    const warm = generatedMessage(8 * 1024, "warm-up");
    await send({
      port,
      from: "bench@hq.company.test",
      to: "someone@partner.test",
      raw: warm.stream,
    });
    await waitUntil(
      () => sink.received.length === 1,
      30_000,
      () => "warm-up delivered",
    );

    const baseline = rss(ingress.pid).now;
    const sampler = sampleRss(ingress.pid);
    const big = generatedMessage(bytes, "big");
    const t0 = performance.now();
    const reply = await send({
      port,
      from: "bench@hq.company.test",
      to: "someone@partner.test",
      raw: big.stream,
    });
    const t1 = performance.now();
    const ingressMax = sampler.stop();
    if (!reply.ok) throw new Error(`big message refused: ${reply.reply}`);
    await waitUntil(
      () => sink.received.length === 2,
      600_000,
      () => "big message delivered",
    );
    const t2 = performance.now();
    const got = sink.received[1];
    return {
      bytes,
      ingressBaselineMiB: baseline,
      ingressGrowthMiB: ingressMax - baseline,
      routerPeakMiB: rss(router.pid).peak,
      deliverPeakMiB: rss(deliver.pid).peak,
      acceptSeconds: (t1 - t0) / 1000,
      relaySeconds: (t2 - t0) / 1000,
      intact: got?.bodySha256 === (await big.sha256),
    };
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printMemory(r: MemoryResult): boolean {
  const mib = (n: number) => `${n.toFixed(1)} MiB`;
  const checks = [
    ["ingress RSS growth", r.ingressGrowthMiB, 64],
    ["router peak RSS", r.routerPeakMiB, 128],
    ["delivery peak RSS", r.deliverPeakMiB, 128],
  ] as const;
  console.log(
    `memory: one ${(r.bytes / 1048576).toFixed(0)} MiB message relayed end to end, each part its own process`,
  );
  console.log(
    `  accepted (250) after ${r.acceptSeconds.toFixed(1)} s, at the smart host after ${r.relaySeconds.toFixed(1)} s, body intact: ${r.intact}`,
  );
  console.log(`  ingress RSS baseline ${mib(r.ingressBaselineMiB)}`);
  let ok = r.intact;
  for (const [name, value, budget] of checks) {
    const pass = value < budget;
    ok &&= pass;
    console.log(
      `  ${name.padEnd(20)} ${mib(value).padStart(10)}  (budget < ${budget} MiB) ${pass ? "OK" : "OVER BUDGET"}`,
    );
  }
  return ok;
}

if (import.meta.main) {
  process.env.MAILBAG_LOG ??= "silent";
  const result = await memoryBench(Number(process.env.BENCH_BYTES ?? 100 * 1024 * 1024));
  process.exitCode = printMemory(result) ? 0 : 1;
}
