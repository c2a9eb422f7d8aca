/**
 * `npm run bench`: the gateway side by side with its peer, stock Postfix (relay-only, set up as
 * ../shared/peer/postfix-baseline.sh does), on this machine, then scale-out, latency and memory.
 * Everything docs/benchmarks.md records comes from this one command.
 *
 * 1. Throughput, alternating Postfix and one gateway, BENCH_ROUNDS rounds, the same load for
 *    both: Postfix's smtp-source, BENCH_N messages of BENCH_SIZE bytes per run, for each of
 *    BENCH_MODES (sessions x one message per connection or connection reuse), relayed to the same
 *    counting smart host. Accept rate: messages / time until smtp-source is done (the last 250).
 *    Relay rate: messages / time until the last one reached the smart host. Medians, ranges, and
 *    the ratios gateway/Postfix. The gateway's CPU per part and AWS calls per relayed message.
 * 2. Scale-out: BENCH_N messages split over 1, 2 and 4 gateways loaded at once (BENCH_GATEWAYS).
 * 3. Latency from the 250 to arrival at the smart host at half the gateway's relay rate.
 * 4. Memory: one 100 MiB message (BENCH_BYTES), right after the throughput part.
 * Ends with `relay: mailbag <x> msg/s, postfix <y> msg/s, ratio <r>` and `accept: ...` lines.
 * Exit code 1 when the memory budget is broken or a message was lost or duplicated.
 */
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { cpus } from "node:os";
import { send } from "../test/helpers/client.ts";
import { waitUntil } from "../test/helpers/sink.ts";
import { type GatewayRun, type PartName, startGateways } from "./gateway.ts";
import { type CountingSink, countingSink, generatedMessage } from "./lib.ts";
import { memoryBench, printMemory } from "./memory.ts";
import { type Peer, postfixUnavailable, startPostfix } from "./postfix.ts";

const N = Number(process.env.BENCH_N ?? 2000);
const SIZE = Number(process.env.BENCH_SIZE ?? 8192);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** `sessions:1` one message per connection, `sessions:reuse` all over kept connections. */
const MODES = (process.env.BENCH_MODES ?? "20:1,20:reuse,100:1").split(",");
const GATEWAYS = (process.env.BENCH_GATEWAYS ?? "1,2,4").split(",").map(Number);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
/** Postfix's smtpd greets at once; smtp-server's early-talker pause is a setting (0 here). */
const GREETING_DELAY_MS = Number(process.env.BENCH_GREETING_DELAY_MS ?? 0);
/**
 * Ingress processes per gateway, sharing its port (`--reuse-port`): one Node process uses one
 * core. Default 1: on two cores a second process measured slower (docs/benchmarks.md).
 */
const INGRESS_PROCESSES = Number(process.env.BENCH_INGRESS_PROCESSES ?? 1);
const TO_DOMAIN = "partner.test";

interface Mode {
  readonly label: string;
  readonly sessions: number;
  readonly reuse: boolean;
}
const modes: Mode[] = MODES.map((m) => {
  const [s, how] = m.split(":");
  const sessions = Number(s);
  const reuse = how === "reuse";
  return {
    sessions,
    reuse,
    label: `${sessions} sessions, ${reuse ? "connection reuse" : "one message per connection"}`,
  };
});

interface Sample {
  accept: number;
  relay: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const HAS_SMTP_SOURCE = (() => {
  try {
    execFileSync("sh", ["-c", "command -v smtp-source"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** smtp-source, as postfix-baseline.sh runs it: `count` messages of SIZE over `sessions`. */
function smtpSource(port: number, mode: Mode, count: number, from: string): Promise<void> {
  if (!HAS_SMTP_SOURCE) return nodeSource(port, mode, count, from);
  const args = ["-4", ...(mode.reuse ? ["-d"] : []), "-s", String(mode.sessions)];
  args.push("-m", String(count), "-l", String(SIZE), "-N", "-M", "bench.test", "-S", "bench");
  args.push("-f", from, "-t", `someone@${TO_DOMAIN}`, `127.0.0.1:${port}`);
  return new Promise((resolve, reject) => {
    const p = spawn("smtp-source", args, { stdio: ["ignore", "ignore", "inherit"] });
    p.once("error", reject);
    p.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`smtp-source exited ${code}`)),
    );
  });
}

/** Without Postfix's tools: the test client, one message per connection. */
async function nodeSource(port: number, mode: Mode, count: number, from: string): Promise<void> {
  let next = 0;
  const session = async () => {
    while (next < count) {
      next++;
      const msg = generatedMessage(SIZE, `load-${next}`);
      const r = await send({ port, from, to: `someone@${TO_DOMAIN}`, raw: msg.stream });
      if (!r.ok) throw new Error(`refused: ${r.reply}`);
    }
  };
  await Promise.all(Array.from({ length: mode.sessions }, session));
}

/** Sends `count` messages to each target at once; returns accept and relay seconds. */
async function measure(
  sink: CountingSink,
  targets: readonly { port: number; from: string }[],
  mode: Mode,
  count: number,
): Promise<Sample> {
  const base = sink.received.length;
  const total = count * targets.length;
  const t0 = performance.now();
  await Promise.all(targets.map((t) => smtpSource(t.port, mode, count, t.from)));
  const t1 = performance.now();
  await waitUntil(
    () => sink.received.length >= base + total,
    1_800_000,
    () => `all relayed (${sink.received.length - base} of ${total})`,
  );
  const t2 = performance.now();
  return { accept: (t1 - t0) / 1000, relay: (t2 - t0) / 1000 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const summary = (rates: number[]) =>
  `${fmt(median(rates))} (${fmt(Math.min(...rates))}-${fmt(Math.max(...rates))})`;

interface GatewayStats {
  cpu: Record<PartName, number>;
  calls: Record<string, number>;
  relayed: number;
}

/** One gateway run: fresh processes and state, the load, CPU and AWS calls. */
async function gatewayRun(
  sink: CountingSink,
  gateways: number,
  mode: Mode,
  count: number,
): Promise<Sample & GatewayStats> {
  const gw = await startGateways(sinkUrl(sink), gateways, GREETING_DELAY_MS, INGRESS_PROCESSES);
  let sample: Sample;
  let cpu: Record<PartName, number>;
  try {
    const before = gw.cpu();
    sample = await measure(sink, gw.ingress, mode, count);
    const after = gw.cpu();
    cpu = {
      emulator: after.emulator - before.emulator,
      ingress: after.ingress - before.ingress,
      functions: after.functions - before.functions,
    };
  } catch (err) {
    await gw.stop();
    throw err;
  }
  const calls = await gw.stop();
  return { ...sample, cpu, calls, relayed: count * gateways };
}

const sinkUrl = (sink: CountingSink) => sink.url;

/** Exactly N distinct bodies arrived per run (smtp-source numbers its messages)? */
function checkDelivered(sink: CountingSink, from: number, expected: number): string | undefined {
  const got = sink.received.length - from;
  if (got !== expected) return `${got} messages reached the smart host, expected ${expected}`;
  return undefined;
}

function printCalls(calls: Record<string, number>, relayed: number): number {
  const parts = ["ingress", "route", "deliver", "push"];
  let after = 0;
  for (const part of parts) {
    const ops = Object.entries(calls)
      .filter(([k]) => k.startsWith(`${part} `))
      .sort((a, b) => b[1] - a[1]);
    const sum = ops.reduce((n, [, v]) => n + v, 0) / relayed;
    if (part !== "ingress") after += sum;
    console.log(
      `    ${part.padEnd(8)} ${sum.toFixed(2)} calls/msg: ${ops
        .map(([k, v]) => `${k.slice(part.length + 1)} ${(v / relayed).toFixed(2)}`)
        .join(", ")}`,
    );
  }
  console.log(
    `    after the 250 (route + deliver + push): ${after.toFixed(2)} AWS calls per relayed message`,
  );
  return after;
}

function printCpu(cpu: Record<PartName, number>, relayed: number, seconds: number): void {
  const total = cpu.emulator + cpu.ingress + cpu.functions;
  console.log(
    `    CPU: ${(["ingress", "functions", "emulator"] as const)
      .map((p) => `${p} ${cpu[p].toFixed(1)} s (${((cpu[p] / relayed) * 1000).toFixed(1)} ms/msg)`)
      .join(", ")}; together ${(total / seconds).toFixed(2)} of ${cpus().length} cores`,
  );
}

async function latency(sink: CountingSink, rate: number): Promise<void> {
  const gw: GatewayRun = await startGateways(
    sinkUrl(sink),
    1,
    GREETING_DELAY_MS,
    INGRESS_PROCESSES,
  );
  const count = Math.max(20, Math.round(rate * LATENCY_SECONDS));
  const accepted = new Map<string, number>();
  try {
    const target = gw.ingress[0];
    if (!target) throw new Error("no ingress");
    const sends: Promise<void>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const due = t0 + (i * 1000) / rate;
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
      const subject = `lat-${i}`;
      sends.push(
        send({
          port: target.port,
          from: target.from,
          to: `someone@${TO_DOMAIN}`,
          raw: generatedMessage(SIZE, subject).stream,
        }).then((r) => {
          if (!r.ok) throw new Error(`refused: ${r.reply}`);
          accepted.set(subject, performance.now());
        }),
      );
    }
    await Promise.all(sends);
    const arrived = () => sink.received.filter((m) => accepted.has(m.subject));
    await waitUntil(
      () => arrived().length >= count,
      600_000,
      () => "latency messages relayed",
    );
    const ms = arrived()
      .map((m) => m.at - (accepted.get(m.subject) ?? 0))
      .sort((a, b) => a - b);
    const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? 0;
    console.log(
      `latency: 250 to arrival at the smart host, ${count} messages at ${rate.toFixed(1)} msg/s (half the median relay rate), one per connection: p50 ${q(0.5).toFixed(0)} ms, p90 ${q(0.9).toFixed(0)} ms, p99 ${q(0.99).toFixed(0)} ms, max ${q(1).toFixed(0)} ms`,
    );
  } finally {
    await gw.stop();
  }
}

async function main(): Promise<number> {
  let failed = false;
  console.log(
    `# ${new Date().toISOString()} node ${process.version}, ${cpus().length} x ${cpus()[0]?.model}`,
  );
  if (!HAS_SMTP_SOURCE) console.log("# load: the test client (smtp-source is not installed)");
  console.log(
    `# BENCH_N=${N} BENCH_SIZE=${SIZE} BENCH_ROUNDS=${ROUNDS} BENCH_MODES=${MODES.join(",")} BENCH_GATEWAYS=${GATEWAYS.join(",")} BENCH_INGRESS_PROCESSES=${INGRESS_PROCESSES} greetingDelayMs=${GREETING_DELAY_MS}`,
  );
  const sink = await countingSink();
  const unavailable = postfixUnavailable();
  let peer: Peer | undefined;
  if (unavailable) console.log(`postfix: not run: ${unavailable}; the gateway's figures alone`);
  else {
    peer = await startPostfix(await freePort(), Number(new URL(sink.url).port), TO_DOMAIN);
    console.log(
      `postfix ${peer.version}: relay-only on 127.0.0.1:${peer.port} (as postfix-baseline.sh sets it up)`,
    );
    // Warm-up (process spawn), not recorded, as the baseline script does.
    await measure(
      sink,
      [{ port: peer.port, from: "bench@hq.company.test" }],
      modes[0] as Mode,
      200,
    );
  }
  const results = new Map<string, { mailbag: Sample[]; postfix: Sample[] }>();
  const lastStats = new Map<string, GatewayStats & { seconds: number }>();
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const mode of modes) {
        const r = results.get(mode.label) ?? { mailbag: [], postfix: [] };
        results.set(mode.label, r);
        if (peer) {
          const from = sink.received.length;
          const s = await measure(
            sink,
            [{ port: peer.port, from: "bench@hq.company.test" }],
            mode,
            N,
          );
          const bad = checkDelivered(sink, from, N);
          if (bad) throw new Error(`postfix: ${bad}`);
          r.postfix.push(s);
          console.log(
            `round ${round}, ${mode.label}: postfix accept ${fmt(N / s.accept)} msg/s, relay ${fmt(N / s.relay)} msg/s`,
          );
        }
        const from = sink.received.length;
        const g = await gatewayRun(sink, 1, mode, N);
        await new Promise((r) => setTimeout(r, 500)); // a late duplicate would arrive now
        const bad = checkDelivered(sink, from, N);
        if (bad) {
          console.log(`  FAILED: mailbag ${bad}`);
          failed = true;
        }
        r.mailbag.push(g);
        lastStats.set(mode.label, { ...g, seconds: g.relay });
        console.log(
          `round ${round}, ${mode.label}: mailbag accept ${fmt(N / g.accept)} msg/s, relay ${fmt(N / g.relay)} msg/s`,
        );
      }
    }
  } finally {
    peer?.stop();
  }

  console.log(`\nthroughput: ${N} x ${SIZE} B per run, ${ROUNDS} rounds, median (range) msg/s`);
  for (const mode of modes) {
    const r = results.get(mode.label);
    if (!r) continue;
    const rate = (xs: Sample[], k: keyof Sample) => xs.map((s) => N / s[k]);
    console.log(`  ${mode.label}:`);
    for (const who of ["mailbag", "postfix"] as const) {
      if (r[who].length === 0) continue;
      console.log(
        `    ${who.padEnd(8)} accept ${summary(rate(r[who], "accept"))}, relay ${summary(rate(r[who], "relay"))}`,
      );
    }
    const st = lastStats.get(mode.label);
    if (st) {
      printCpu(st.cpu, st.relayed, st.seconds);
      printCalls(st.calls, st.relayed);
    }
  }

  // Scale-out: the same BENCH_N messages split over 1, 2, 4 gateways, loaded at once, each with
  // the first mode's sessions (so the whole run stays within about ten minutes).
  const scaleMode = modes[0] as Mode;
  const single = median((results.get(scaleMode.label)?.mailbag ?? []).map((s) => N / s.relay));
  console.log(`\nscale-out: ${N} messages split over the gateways, ${scaleMode.label} each`);
  for (const count of GATEWAYS) {
    const from = sink.received.length;
    const each = Math.floor(N / count);
    const g = await gatewayRun(sink, count, scaleMode, each);
    const bad = checkDelivered(sink, from, each * count);
    if (bad) {
      console.log(`  FAILED: ${bad}`);
      failed = true;
    }
    const rate = (each * count) / g.relay;
    console.log(
      `  ${count} gateway(s): relay ${fmt(rate)} msg/s together (${(rate / (single || rate)).toFixed(2)} x one gateway's median), accept ${fmt((each * count) / g.accept)} msg/s`,
    );
    printCpu(g.cpu, g.relayed, g.relay);
  }

  const relayMedian = median((results.get(scaleMode.label)?.mailbag ?? []).map((s) => N / s.relay));
  console.log("");
  if (relayMedian > 0) await latency(sink, relayMedian / 2);

  console.log("");
  const memoryOk = printMemory(
    await memoryBench(Number(process.env.BENCH_BYTES ?? 100 * 1024 * 1024)),
  );
  failed ||= !memoryOk;
  await sink.close();

  console.log("");
  for (const mode of modes) {
    const r = results.get(mode.label);
    if (!r) continue;
    for (const k of ["relay", "accept"] as const) {
      const m = median(r.mailbag.map((s) => N / s[k]));
      const p = r.postfix.length ? median(r.postfix.map((s) => N / s[k])) : undefined;
      console.log(
        p === undefined
          ? `${k}: mailbag ${fmt(m)} msg/s, postfix not run (${mode.label})`
          : `${k}: mailbag ${fmt(m)} msg/s, postfix ${fmt(p)} msg/s, ratio ${(m / p).toFixed(2)} (${mode.label})`,
      );
    }
  }
  return failed ? 1 : 0;
}

process.env.MAILBAG_LOG ??= "silent";
process.exitCode = await main();
