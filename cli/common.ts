/** What every `mailbag` command shares: the config file option and usage errors. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type AwsSettings, awsSettingsFromEnv } from "../functions/shared/aws.ts";

/** Wrong arguments: printed with the command name, exit code 2. */
export class UsageError extends Error {}

/** `--config FILE` (or MAILBAG_CONFIG, or ./mailbag.config.json). */
/** What `mailbag start` leaves in its data directory so other commands find its emulator. */
export const EMULATOR_FILE = "emulator.json";

/** The endpoint a running `mailbag start` (or `mailbag emulator`) wrote into its data dir. */
export function runningEmulator(dataDir: string): string | undefined {
  try {
    const info = JSON.parse(readFileSync(join(dataDir, EMULATOR_FILE), "utf8")) as {
      endpoint?: unknown;
    };
    return typeof info.endpoint === "string" ? info.endpoint : undefined;
  } catch {
    return undefined;
  }
}

export function backendSettings(values: {
  backend?: string | undefined;
  "emulator-port"?: string | undefined;
  "data-dir"?: string | undefined;
}): AwsSettings {
  const settings = awsSettingsFromEnv();
  const mode =
    values.backend ?? process.env.MAILBAG_BACKEND ?? (settings.endpoint ? "endpoint" : "emulator");
  if (mode === "aws") return { region: settings.region };
  if (mode === "endpoint") {
    if (!settings.endpoint) throw new UsageError("--backend endpoint needs AWS_ENDPOINT_URL");
    return settings;
  }
  if (mode !== "emulator")
    throw new UsageError(`--backend: emulator, endpoint or aws, not '${mode}'`);
  const dataDir = values["data-dir"] ?? process.env.MAILBAG_DATA_DIR ?? ".mailbag";
  signWithDataDirCredentials(dataDir);
  const port = values["emulator-port"] ?? process.env.MAILBAG_EMULATOR_PORT;
  if (port !== undefined) return { ...settings, endpoint: `http://127.0.0.1:${port}` };
  return { ...settings, endpoint: runningEmulator(dataDir) ?? "http://127.0.0.1:4577" };
}

/**
 * The embedded emulator accepts only requests signed with its data directory's credentials
 * (functions/local/emulator.ts dataDirCredentials); sign with them unless the environment
 * already names credentials.
 */
function signWithDataDirCredentials(dataDir: string): void {
  if (process.env.AWS_ACCESS_KEY_ID && process.env.AWS_SECRET_ACCESS_KEY) return;
  let text: string;
  try {
    text = readFileSync(join(dataDir, "credentials"), "utf8");
  } catch {
    return;
  }
  const id = /aws_access_key_id\s*=\s*(\S+)/.exec(text)?.[1];
  const secret = /aws_secret_access_key\s*=\s*(\S+)/.exec(text)?.[1];
  if (!id || !secret) return;
  // As useCredentials (emulator.ts) does, without loading the emulator into every command.
  process.env.AWS_ACCESS_KEY_ID = id;
  process.env.AWS_SECRET_ACCESS_KEY = secret;
}
