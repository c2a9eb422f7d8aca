/**
 * The setup the integration suites share, so each file states only what differs: an emulator
 * backend, an SMTP sink standing in for the smart host (behind a TCP proxy when the suite cuts
 * that link), the config, and the test network. All of it is started in node:test's `before` and
 * stopped, newest first, in its `after`; the suite reads the fields once `before` has run.
 * Also the `mailbag` CLI as a person runs it, a child process against that backend.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import type { Config, ConfigInput } from "../../core/config.ts";
import {
  type Backend,
  startBackend,
  startTestNetwork,
  type TestNetwork,
  testConfig,
} from "./network.ts";
import { startProxy, type TcpProxy } from "./proxy.ts";
import { type Sink, startSink } from "./sink.ts";

const CLI = new URL("../../cli/mailbag.ts", import.meta.url).pathname;

export interface SuiteOptions {
  /** Put the smart host's sink behind a TCP proxy (`smartHostLink`) the test can take down. */
  readonly smartHostLink?: boolean;
  /** Changes to the default `testConfig(url)` before it is validated. */
  readonly change?: (c: ConfigInput) => void;
  /**
   * The config, given the smart host's URL (default `testConfig(url)`). Runs inside `before`,
   * after the backend and sink, so it may start more servers (`suite.stopLater` them).
   */
  readonly config?: (smartHostUrl: string, suite: GatewaySuite) => Config | Promise<Config>;
  /**
   * Also write the config as the `mailbag` CLI reads it (`-c suite.configFile`): what this
   * returns for the validated config. (A test file's own top-level `before` hooks may run
   * alongside the suite's, so they cannot read `suite.config` yet: ask for the file here.)
   */
  readonly configFile?: (config: Config) => unknown;
  /**
   * Start only the backend: the suite starts its sinks and networks per test (`startSink`,
   * `startNetwork`); `smartHost`, `config` and `gw` stay unset.
   */
  readonly network?: false;
}

export interface GatewaySuite {
  readonly backend: Backend;
  /** The sink the smart host URL leads to. */
  readonly smartHost: Sink;
  /** The proxy in front of it (only with `smartHostLink`). */
  readonly smartHostLink: TcpProxy;
  readonly config: Config;
  readonly gw: TestNetwork;
  /** With the `configFile` option: the config file for the CLI. */
  readonly configFile: string;
  /** Stop this in `after`, before what was started earlier. */
  stopLater(stop: () => Promise<void>): void;
  /** A further sink (e.g. a postoffice's own server), stopped in `after`. */
  startSink(): Promise<Sink>;
  /** A TCP proxy to `url`'s host and port, which `down()` cuts; stopped in `after`. */
  startLink(url: string): Promise<TcpProxy>;
  /** A further network on the same backend, stopped in `after`. */
  startNetwork(
    config: Config,
    parts?: Parameters<typeof startTestNetwork>[2],
  ): Promise<TestNetwork>;
}

/** Registers the shared `before`/`after` hooks of an integration test file. */
export function gatewaySuite(options: SuiteOptions = {}): GatewaySuite {
  const stops: (() => Promise<void>)[] = [];
  const suite = {
    stopLater(stop: () => Promise<void>) {
      stops.push(stop);
    },
    async startSink() {
      const sink = await startSink();
      stops.push(() => sink.close());
      return sink;
    },
    async startLink(url: string) {
      const link = await startProxy(new URL(url.replace(/^\w+:/, "http:")));
      stops.push(() => link.close());
      return link;
    },
    async startNetwork(config: Config, parts?: Parameters<typeof startTestNetwork>[2]) {
      const net = await startTestNetwork(config, suite.backend.endpoint, parts);
      stops.push(() => net.stop());
      return net;
    },
  } as { -readonly [K in keyof GatewaySuite]: GatewaySuite[K] };

  before(async () => {
    const backend = await startBackend();
    suite.backend = backend;
    stops.push(() => backend.stop());
    if (options.network === false) return;
    suite.smartHost = await suite.startSink();
    let url = suite.smartHost.url;
    if (options.smartHostLink) {
      suite.smartHostLink = await suite.startLink(url);
      url = suite.smartHostLink.endpoint.replace("http:", "smtp:");
    }
    suite.config = options.config
      ? await options.config(url, suite)
      : testConfig(url, options.change);
    if (options.configFile) suite.configFile = writeConfigFile(options.configFile(suite.config));
    suite.gw = await suite.startNetwork(suite.config);
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });
  return suite;
}

/** `config` as a file the `mailbag` CLI reads (`-c`), in a directory of its own. */
export function writeConfigFile(config: unknown, name = "mailbag"): string {
  const file = join(mkdtempSync(join(tmpdir(), `${name}-`)), "mailbag.config.json");
  writeFileSync(file, JSON.stringify(config));
  return file;
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** What it wrote so far to stdout and stderr, each, and both in the order written. */
  out(): string;
  err(): string;
  both(): string;
  /** Its exit code, once it has ended. */
  readonly exit: Promise<number>;
}

/** `mailbag <args>` in a child process, against the emulator (or LocalStack) at `endpoint`. */
export function mailbagProcess(
  endpoint: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, AWS_ENDPOINT_URL: endpoint, MAILBAG_BACKEND: "endpoint", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let both = "";
  child.stdout?.on("data", (d) => {
    out += d;
    both += d;
  });
  child.stderr?.on("data", (d) => {
    err += d;
    both += d;
  });
  const exit = new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (status) => resolve(status ?? -1));
  });
  // A spawn failure is seen by whoever awaits `exit`; a process only watched must not crash the run.
  exit.catch(() => undefined);
  return { child, out: () => out, err: () => err, both: () => both, exit };
}

/** `mailbag <args>` run to its end: exit status, stdout, stderr and both interleaved. */
export async function runMailbag(
  endpoint: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<{ status: number; out: string; err: string; both: string }> {
  const p = mailbagProcess(endpoint, args, env);
  const status = await p.exit;
  return { status, out: p.out(), err: p.err(), both: p.both() };
}
