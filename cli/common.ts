/** What every `mailbag` command shares: the config file option and usage errors. */
import type { Config } from "../core/config.ts";
import { type AwsSettings, awsSettingsFromEnv } from "../functions/shared/aws.ts";
import { configPath, loadConfigFile } from "../functions/shared/config-file.ts";

/** Wrong arguments: printed with the command name, exit code 2. */
export class UsageError extends Error {}

/** `--config FILE` (or MAILBAG_CONFIG, or ./mailbag.config.json), validated. */
export const configOption = { config: { type: "string", short: "c" } } as const;

export function loadConfig(explicit: string | undefined): Promise<Config> {
  return loadConfigFile(configPath(explicit));
}

/**
 * `--backend` for commands that talk to a running gateway's bucket (fetch, submit): `emulator`
 * (the default without AWS_ENDPOINT_URL) is the one `mailbag start` runs, on --emulator-port or
 * MAILBAG_EMULATOR_PORT (4577); `endpoint` is AWS_ENDPOINT_URL (LocalStack); `aws` is real AWS
 * with the standard credentials chain.
 */
export const backendOptions = {
  backend: { type: "string" },
  "emulator-port": { type: "string" },
} as const;

export function backendSettings(values: {
  backend?: string | undefined;
  "emulator-port"?: string | undefined;
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
  const port = values["emulator-port"] ?? process.env.MAILBAG_EMULATOR_PORT ?? "4577";
  return { ...settings, endpoint: `http://127.0.0.1:${port}` };
}
