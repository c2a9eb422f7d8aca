/** What every `mailbag` command shares: the config file option and usage errors. */
import type { Config } from "../core/config.ts";
import { configPath, loadConfigFile } from "../functions/shared/config-file.ts";

/** Wrong arguments: printed with the command name, exit code 2. */
export class UsageError extends Error {}

/** `--config FILE` (or MAILBAG_CONFIG, or ./mailbag.config.json), validated. */
export const configOption = { config: { type: "string", short: "c" } } as const;

export function loadConfig(explicit: string | undefined): Promise<Config> {
  return loadConfigFile(configPath(explicit));
}
