/**
 * The gateway side of the bench: the embedded emulator in its own process, and per gateway an
 * ingress process, a route process and a deliver process of the real CLI bundle, as deployed
 * (container + two Lambda functions). Reports the CPU each part used and the AWS calls each
 * part made (functions/shared/aws-calls.ts, written by `mailbag start` on SIGTERM).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigInput } from "../core/config.ts";
import { testConfig } from "../test/helpers/network.ts";
import { mailbag, type Proc } from "./lib.ts";

export type PartName = "emulator" | "ingress" | "functions";

export interface GatewayRun {
  /** SMTP port and sender address of each gateway's ingress. */
  readonly ingress: { port: number; from: string }[];
  /** CPU seconds used so far by each part (summed over gateways). */
  cpu(): Record<PartName, number>;
  readonly pids: Record<PartName, number[]>;
  /** Stops everything; returns the AWS calls by "part Service.Operation". */
  stop(): Promise<Record<string, number>>;
}

/** A config of `count` gateways, each with one postoffice, all relaying to `smartHostUrl`. */
export function benchConfig(smartHostUrl: string, count: number, greetingDelayMs: number) {
  return testConfig(smartHostUrl, (c: ConfigInput) => {
    const ids = Array.from({ length: count }, (_, i) => i + 1);
    c.postoffices = ids.map((i) => ({
      id: `PO${i}`,
      domain: `po${i}.company.test`,
      submit: { networks: ["127.0.0.0/8"] },
    }));
    c.gateways = ids.map((i) => ({
      id: `GW${i}`,
      mode: "both" as const,
      postoffices: [`PO${i}`],
      hostname: `gw${i}.company.test`,
      address: "127.0.0.1",
    }));
    // Longer than a batch of ten takes on a loaded machine: a record that reappears while its
    // batch is still being worked on is received twice (harmless, but counted as calls).
    c.queues = { visibilityTimeoutSeconds: 30, maxReceiveCount: 50 };
    // The load comes from one address (smtp-source on 127.0.0.1) with up to 100 sessions.
    c.limits = { greetingDelayMs, maxConnections: 1000, maxConnectionsPerClient: 500 };
  });
}

export async function startGateways(
  smartHostUrl: string,
  count: number,
  greetingDelayMs: number,
  ingressProcesses = 1,
): Promise<GatewayRun> {
  const dir = mkdtempSync(join(tmpdir(), "mailbag-bench-"));
  const config = benchConfig(smartHostUrl, count, greetingDelayMs);
  const configFile = join(dir, "config.json");
  writeFileSync(configFile, JSON.stringify(config));
  const procs: Proc[] = [];
  const pids: Record<PartName, number[]> = { emulator: [], ingress: [], functions: [] };
  const callFiles: string[] = [];
  const stopAll = async () => {
    for (const p of procs.reverse()) await p.stop();
  };
  try {
    const emulator = await mailbag(
      ["emulator", "--port", "0", "--data-dir", join(dir, "state")],
      /listening at (http:\/\/[\d.:]+)/,
    );
    procs.push(emulator);
    pids.emulator.push(emulator.pid);
    const ingress: GatewayRun["ingress"] = [];
    for (const gw of config.gateways) {
      // The ingress as `ingressProcesses` processes sharing one port (--reuse-port), as the load
      // balancer spreads connections over ingress tasks on AWS; route and deliver are two Lambda
      // functions, each in its own execution environment: here each is its own process too.
      const parts = [...Array<"ingress">(ingressProcesses).fill("ingress"), "route", "deliver"];
      let port = 0;
      for (const [i, part] of parts.entries()) {
        const calls = join(dir, `${gw.id}-${part}-${i}.calls.json`);
        callFiles.push(calls);
        const args = ["start", "--config", configFile, "--only", part, "--gateway", gw.id];
        const p = await mailbag(
          part === "ingress" ? [...args, "--port", String(port), "--reuse-port"] : args,
          part === "ingress" ? /SMTP on [\d.]+:(\d+)/ : new RegExp(`functions: ${part}\\b`),
          { AWS_ENDPOINT_URL: emulator.match, MAILBAG_AWS_CALLS_FILE: calls },
        );
        procs.push(p);
        pids[part === "ingress" ? "ingress" : "functions"].push(p.pid);
        if (part === "ingress" && port === 0) {
          port = Number(p.match);
          ingress.push({
            port,
            from: `bench@${config.postoffices.find((po) => po.id === gw.postoffices[0])?.domain}`,
          });
        }
      }
    }
    return {
      ingress,
      pids,
      cpu: () => ({
        emulator: cpuSeconds(pids.emulator),
        ingress: cpuSeconds(pids.ingress),
        functions: cpuSeconds(pids.functions),
      }),
      async stop() {
        await stopAll();
        const calls: Record<string, number> = {};
        for (const f of callFiles.filter(existsSync)) {
          for (const [k, v] of Object.entries(
            JSON.parse(readFileSync(f, "utf8")) as Record<string, number>,
          ))
            calls[k] = (calls[k] ?? 0) + v;
        }
        rmSync(dir, { recursive: true, force: true });
        return calls;
      },
    };
  } catch (err) {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** User + system CPU of these processes so far, in seconds (/proc/PID/stat, 100 ticks/s). */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {}
  }
  return ticks / 100;
}
