/**
 * `npm run bench`: throughput and memory, each part of the gateway in its own process on the
 * embedded emulator (its own process too), as docs/benchmarks.md records.
 *
 * Throughput: BENCH_N (default 2000) messages of BENCH_SIZE bytes (8192, the seeds' average)
 * from 20 concurrent sessions, one message per connection, HQ → partner.test, relayed through a
 * counting smart host. Load comes from Postfix's smtp-source when installed (the same generator
 * as ../shared/peer/postfix-baseline.sh, so the numbers compare), else from an in-process client.
 * Accept rate: messages / time until the last 250. Relay rate: messages / time until the last one
 * reached the smart host.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { send } from "../test/helpers/client.ts";
import { testConfig } from "../test/helpers/network.ts";
import { waitUntil } from "../test/helpers/sink.ts";
import { countingSink, generatedMessage, mailbag, rss } from "./lib.ts";
import { memoryBench, printMemory } from "./memory.ts";

const N = Number(process.env.BENCH_N ?? 2000);
const SIZE = Number(process.env.BENCH_SIZE ?? 8192);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 20);

function hasSmtpSource(): boolean {
  try {
    execFileSync("sh", ["-c", "command -v smtp-source"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function load(port: number): Promise<string> {
  if (hasSmtpSource()) {
    await new Promise<void>((resolve, reject) => {
      const p = spawn(
        "smtp-source",
        [
          "-4",
          "-s",
          String(SESSIONS),
          "-m",
          String(N),
          "-l",
          String(SIZE),
          "-N",
          "-M",
          "bench.test",
          "-S",
          "bench",
          "-f",
          "bench@hq.company.test",
          "-t",
          "someone@partner.test",
          `127.0.0.1:${port}`,
        ],
        { stdio: "inherit" },
      );
      p.once("exit", (code) =>
        code === 0 ? resolve() : reject(new Error(`smtp-source exited ${code}`)),
      );
    });
    return "smtp-source";
  }
  let next = 0;
  const session = async () => {
    while (next < N) {
      next++;
      const msg = generatedMessage(SIZE, `load-${next}`);
      const r = await send({
        port,
        from: "bench@hq.company.test",
        to: "someone@partner.test",
        raw: msg.stream,
      });
      if (!r.ok) throw new Error(`refused: ${r.reply}`);
    }
  };
  await Promise.all(Array.from({ length: SESSIONS }, session));
  return "nodemailer client";
}

async function throughput(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mailbag-bench-"));
  const sink = await countingSink();
  const configFile = join(dir, "config.json");
  writeFileSync(configFile, JSON.stringify(testConfig(sink.url)));
  const emulator = await mailbag(
    ["emulator", "--port", "0", "--data-dir", join(dir, "state")],
    /listening at (http:\/\/[\d.:]+)/,
  );
  const env = { AWS_ENDPOINT_URL: emulator.match };
  const common = ["start", "--config", configFile, "--port", "0"];
  const procs = [emulator];
  try {
    const ingress = await mailbag([...common, "--only", "ingress"], /SMTP on [\d.]+:(\d+)/, env);
    procs.push(ingress);
    const functions = await mailbag(
      [...common, "--only", "functions"],
      /functions: route\+deliver/,
      env,
    );
    procs.push(functions);
    const t0 = performance.now();
    const generator = await load(Number(ingress.match));
    const t1 = performance.now();
    await waitUntil(
      () => sink.received.length >= N,
      1_800_000,
      () => "all relayed",
    );
    const t2 = performance.now();
    const accept = (t1 - t0) / 1000;
    const relay = (t2 - t0) / 1000;
    console.log(
      `throughput: ${N} x ${SIZE} B, ${SESSIONS} sessions, one message per connection (${generator}), one gateway`,
    );
    console.log(
      `  accept ${(N / accept).toFixed(1)} msg/s (${accept.toFixed(1)} s), relayed end to end ${(N / relay).toFixed(1)} msg/s (${relay.toFixed(1)} s)`,
    );
    console.log(
      `  = ${Math.round((N / relay) * 86400).toLocaleString("en")} messages/day through one gateway (the seeds' gateway: about 10,000)`,
    );
    console.log(
      `  peak RSS: emulator ${rss(emulator.pid).peak.toFixed(0)} MiB, ingress ${rss(ingress.pid).peak.toFixed(0)} MiB, functions ${rss(functions.pid).peak.toFixed(0)} MiB`,
    );
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.env.MAILBAG_LOG ??= "silent";
console.log(
  `# ${new Date().toISOString()} node ${process.version}, ${cpus().length} x ${cpus()[0]?.model}`,
);
await throughput();
const ok = printMemory(await memoryBench(Number(process.env.BENCH_BYTES ?? 100 * 1024 * 1024)));
process.exitCode = ok ? 0 : 1;
