/**
 * `mailbag start`: the gateways of the config on this machine. The backend (`--backend` or
 * MAILBAG_BACKEND): `emulator` (the default without AWS_ENDPOINT_URL) starts the embedded
 * emulator, state kept in --data-dir; `endpoint` (the default with it) uses AWS_ENDPOINT_URL, e.g.
 * LocalStack; both create the buckets and queues. `aws` uses real AWS as deployed by the CDK app,
 * creating nothing: that is the ingress container's mode (`--only ingress --gateway ID`, config
 * from the published directory in MAILBAG_DIRECTORY).
 */
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PARTS, type Part, startLocalNetwork } from "../functions/local/gateway.ts";
import { awsSettingsFromEnv, createAwsClients } from "../functions/shared/aws.ts";
import { saveAwsCallCounts } from "../functions/shared/aws-calls.ts";
import { configSource, loadConfig } from "../functions/shared/config-file.ts";
import { bucketOverrides, createRuntime } from "../functions/shared/runtime.ts";
import { EMULATOR_FILE, UsageError } from "./common.ts";
import { CONFIG_ENV, CONFIG_OPTION, type CommandHelp, command } from "./help.ts";

export const START_HELP = {
  name: "start",
  summary: "run the gateway(s) of the config locally: SMTP ingress + queue runners",
  usage: "[options]",
  description:
    "Backends: `emulator` (default without AWS_ENDPOINT_URL) starts the embedded S3+SQS\n" +
    "emulator with its state in --data-dir; `endpoint` (default with AWS_ENDPOINT_URL, e.g.\n" +
    "LocalStack) uses that endpoint; both create the buckets and queues. `aws` uses real AWS as\n" +
    "deployed by the CDK app and creates nothing (the ingress container's mode). Prints where it\n" +
    "listens, the backend, and how much mail is waiting in the queues.",
  options: {
    ...CONFIG_OPTION,
    port: {
      type: "string",
      short: "p",
      arg: "N",
      help: "SMTP port of the first gateway, +1 per further gateway (default 2525)",
    },
    host: {
      type: "string",
      arg: "ADDR",
      help: "address the SMTP ingress binds (default 127.0.0.1)",
    },
    "reuse-port": {
      type: "boolean",
      help: "share the SMTP port with other `mailbag start --only ingress` processes on this host (SO_REUSEPORT: one process per core)",
    },
    "data-dir": {
      type: "string",
      arg: "DIR",
      help: "emulator state directory (default .mailbag); `mailbag queue` finds the emulator here",
    },
    "emulator-port": {
      type: "string",
      arg: "N",
      help: "port of the embedded emulator (default 4577)",
    },
    only: {
      type: "string",
      arg: "PARTS",
      help: "run only these parts: ingress, route, deliver, functions (= route,deliver), comma-separated",
    },
    gateway: { type: "string", short: "g", arg: "ID", help: "run only this gateway of the config" },
    backend: { type: "string", arg: "KIND", help: "emulator, endpoint or aws (see above)" },
  },
  env: {
    ...CONFIG_ENV,
    MAILBAG_PORT: "--port",
    MAILBAG_HOST: "--host",
    MAILBAG_DATA_DIR: "--data-dir",
    MAILBAG_EMULATOR_PORT: "--emulator-port",
    MAILBAG_GATEWAY: "--gateway",
    MAILBAG_BACKEND: "--backend",
    MAILBAG_SMART_HOST: "smtp://host:port that replaces the config's smart host",
    MAILBAG_DIRECTORY: "s3://bucket/key of the published directory (config) instead of a file",
    MAILBAG_LOG: "log level: debug, info (default), warn, error, silent",
    AWS_ENDPOINT_URL: "an AWS-compatible endpoint (LocalStack); AWS_REGION the region",
  },
  example: "MAILBAG_SMART_HOST=smtp://127.0.0.1:2526 mailbag start --port 2525",
} as const satisfies CommandHelp;

export const start = command(START_HELP, { max: 0 }, async ({ values }) => {
  const port = portOption("--port", values.port ?? process.env.MAILBAG_PORT ?? "2525");
  const emulatorPort = portOption(
    "--emulator-port",
    values["emulator-port"] ?? process.env.MAILBAG_EMULATOR_PORT ?? "4577",
  );
  const parts = selectParts(values.only);
  let settings = awsSettingsFromEnv();
  const mode =
    values.backend ?? process.env.MAILBAG_BACKEND ?? (settings.endpoint ? "endpoint" : "emulator");
  if (mode !== "emulator" && mode !== "endpoint" && mode !== "aws") {
    throw new UsageError(`--backend: emulator, endpoint or aws, not '${mode}'`);
  }
  if (mode === "endpoint" && !settings.endpoint)
    throw new UsageError("--backend endpoint needs AWS_ENDPOINT_URL");
  const { config } = await loadConfig(
    configSource(values.config, () => createAwsClients(settings).s3),
  );
  const only = values.gateway ?? process.env.MAILBAG_GATEWAY;
  if (only !== undefined && !config.gateways.some((g) => g.id === only)) {
    throw new UsageError(`--gateway: no gateway ${only} in the config`);
  }

  let stopEmulator = async () => {};
  let backend = mode === "aws" ? "AWS (as deployed)" : `AWS endpoint ${settings.endpoint}`;
  const dataDir = values["data-dir"] ?? process.env.MAILBAG_DATA_DIR ?? ".mailbag";
  if (mode === "emulator") {
    // Loaded only when used: the emulator (fastify, SQLite) has no place in an ingress container.
    const { dataDirCredentials, startEmulator, useCredentials } = await import(
      "../functions/local/emulator.ts"
    );
    const { credentials, file } = await dataDirCredentials(dataDir);
    useCredentials(credentials);
    const emulator = await startEmulator({
      port: emulatorPort,
      dataDir,
      region: settings.region,
      credentials,
    });
    process.env.AWS_ENDPOINT_URL = emulator.endpoint;
    settings = { ...settings, endpoint: emulator.endpoint };
    // Where `mailbag queue|show|flush…` find this emulator (cli/common.ts runningEmulator).
    const info = join(dataDir, EMULATOR_FILE);
    await writeFile(info, `${JSON.stringify({ endpoint: emulator.endpoint, pid: process.pid })}\n`);
    stopEmulator = async () => {
      await rm(info, { force: true });
      await emulator.stop();
    };
    const signed = file ? `credentials in ${file}` : "credentials from the environment";
    backend = `embedded emulator (fauxqs) at ${emulator.endpoint} (loopback only, signed requests only: ${signed}), state in ${dataDir}`;
  }
  const runtime = createRuntime(
    config,
    createAwsClients(settings),
    mode === "aws" ? bucketOverrides() : {},
  );
  const network = await startLocalNetwork({
    runtime,
    port,
    host: values.host ?? process.env.MAILBAG_HOST ?? "127.0.0.1",
    provision: mode !== "aws",
    reusePort: values["reuse-port"] === true,
    parts,
    dataDir,
    ...(only ? { gateways: [only] } : {}),
  });

  const smartHost =
    "url" in config.smartHost
      ? config.smartHost.url.replace(/\/\/[^@/]*@/, "//***@")
      : "Amazon SES";
  process.stdout.write(`mailbag: network ${config.network}, backend: ${backend}\n`);
  for (const gw of network.gateways) {
    const mode = config.gateways.find((g) => g.id === gw.id)?.mode;
    const host = values.host ?? process.env.MAILBAG_HOST ?? "127.0.0.1";
    const implicit = gw.tlsPort === undefined ? "" : ` and implicit TLS on ${host}:${gw.tlsPort}`;
    const where = gw.port === undefined ? "no ingress" : `SMTP on ${host}:${gw.port}${implicit}`;
    const functions =
      [...Object.keys(gw.runners), ...(gw.intake ? ["intake"] : [])].join("+") || "no functions";
    process.stdout.write(
      `mailbag: gateway ${gw.id} (${mode}): ${where}, functions: ${functions}\n`,
    );
    if (gw.tls) process.stdout.write(`mailbag: gateway ${gw.id} TLS certificate: ${gw.tls}\n`);
  }
  if (network.gateways.some((g) => g.intake)) {
    process.stdout.write(
      "mailbag: outbound mailbags (outbound/<PO>/) polled every second: locally there are no S3 event notifications (on AWS they wake the intake function)\n",
    );
  }
  process.stdout.write(`mailbag: smart host ${smartHost}\n`);
  // Like Postfix's startup log, but what an admin wants first: mail left from the last run.
  try {
    const { waitingSummary } = await import("./mailq-text.ts");
    const { mailq, snapshot } = await import("../functions/shared/mailq-store.ts");
    const q = mailq(runtime.map, runtime.clients);
    process.stdout.write(`mailbag: ${waitingSummary((await snapshot(q)).rows, new Date())}\n`);
  } catch (err) {
    process.stdout.write(`mailbag: could not count the waiting mail: ${(err as Error).message}\n`);
  }
  process.stdout.write("mailbag: Ctrl-C to stop\n");

  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  process.stdout.write("mailbag: draining open sessions...\n");
  await network.stop();
  await stopEmulator();
  saveAwsCallCounts();
  process.stdout.write("mailbag: stopped\n");
  return 0;
});

/** `--only ingress,route,deliver,push` (or `functions` = all but ingress): which parts this process runs. */
function selectParts(only: string | undefined): Partial<Record<Part, boolean>> {
  if (only === undefined) return {};
  const wanted = new Set(
    only.split(",").flatMap((p) => (p === "functions" ? ["route", "deliver", "push"] : [p.trim()])),
  );
  for (const p of wanted) {
    if (!PARTS.includes(p as Part))
      throw new UsageError(`--only: unknown part '${p}' (${PARTS.join(", ")}, functions)`);
  }
  return Object.fromEntries(PARTS.map((p) => [p, wanted.has(p)]));
}

/** A port option: 1-65535, or 0 for any free port (tests, benchmarks). */
function portOption(name: string, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new UsageError(`${name}: not a port (0-65535): ${value}`);
  return port;
}
