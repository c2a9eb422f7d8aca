/**
 * `mailbag start`: the gateways of the config on this machine. Without AWS_ENDPOINT_URL it
 * starts the embedded emulator (state kept in --data-dir) and points everything at it; with it,
 * it uses that endpoint (LocalStack) or, when unset and --aws is given, real AWS.
 */
import { parseArgs } from "node:util";
import { PARTS, type Part, startLocalNetwork } from "../functions/local/gateway.ts";
import { awsSettingsFromEnv, createAwsClients } from "../functions/shared/aws.ts";
import { createRuntime } from "../functions/shared/runtime.ts";
import { configOption, loadConfig, UsageError } from "./common.ts";

export async function start(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...configOption,
      port: { type: "string", short: "p" },
      host: { type: "string" },
      "data-dir": { type: "string" },
      "emulator-port": { type: "string" },
      only: { type: "string" },
    },
  });
  const port = Number(values.port ?? process.env.MAILBAG_PORT ?? 2525);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port: not a port: ${values.port}`);
  const parts = selectParts(values.only);
  const config = await loadConfig(values.config);

  let settings = awsSettingsFromEnv();
  let stopEmulator = async () => {};
  let backend = `AWS endpoint ${settings.endpoint ?? "(default AWS endpoints)"}`;
  if (!settings.endpoint) {
    const dataDir = values["data-dir"] ?? process.env.MAILBAG_DATA_DIR ?? ".mailbag";
    // Loaded only when used: the emulator (fastify, SQLite) has no place in an ingress container.
    const { startEmulator } = await import("../functions/local/emulator.ts");
    const emulator = await startEmulator({
      port: Number(values["emulator-port"] ?? process.env.MAILBAG_EMULATOR_PORT ?? 4577),
      dataDir,
      region: settings.region,
    });
    process.env.AWS_ENDPOINT_URL = emulator.endpoint;
    settings = { ...settings, endpoint: emulator.endpoint };
    stopEmulator = () => emulator.stop();
    backend = `embedded emulator (fauxqs) at ${emulator.endpoint}, state in ${dataDir}`;
  }
  const runtime = createRuntime(config, createAwsClients(settings));
  const network = await startLocalNetwork({
    runtime,
    port,
    host: values.host ?? process.env.MAILBAG_HOST ?? "127.0.0.1",
    provision: settings.endpoint !== undefined,
    parts,
  });

  const smartHost =
    "url" in config.smartHost
      ? config.smartHost.url.replace(/\/\/[^@/]*@/, "//***@")
      : "Amazon SES";
  process.stdout.write(`mailbag: network ${config.network}, backend: ${backend}\n`);
  for (const gw of network.gateways) {
    const mode = config.gateways.find((g) => g.id === gw.id)?.mode;
    const where =
      gw.port === undefined ? "no ingress" : `SMTP on ${values.host ?? "127.0.0.1"}:${gw.port}`;
    const functions = Object.keys(gw.runners).join("+") || "no functions";
    process.stdout.write(
      `mailbag: gateway ${gw.id} (${mode}): ${where}, functions: ${functions}\n`,
    );
  }
  process.stdout.write(`mailbag: smart host ${smartHost}; Ctrl-C to stop\n`);

  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  process.stdout.write("mailbag: draining open sessions...\n");
  await network.stop();
  await stopEmulator();
  process.stdout.write("mailbag: stopped\n");
  return 0;
}

/** `--only ingress,route,deliver` (or `functions` = route+deliver): which parts this process runs. */
function selectParts(only: string | undefined): Partial<Record<Part, boolean>> {
  if (only === undefined) return {};
  const wanted = new Set(
    only.split(",").flatMap((p) => (p === "functions" ? ["route", "deliver"] : [p.trim()])),
  );
  for (const p of wanted) {
    if (!PARTS.includes(p as Part))
      throw new UsageError(`--only: unknown part '${p}' (ingress, route, deliver, functions)`);
  }
  return Object.fromEntries(PARTS.map((p) => [p, wanted.has(p)]));
}
