/** Reading the config file: the only I/O around core's parseConfig. */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { type Config, jsonSyntaxError, parseConfig } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";

export const DEFAULT_CONFIG_FILE = "mailbag.config.json";

/** `--config` beats MAILBAG_CONFIG beats ./mailbag.config.json. */
export function configPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(explicit ?? env.MAILBAG_CONFIG ?? DEFAULT_CONFIG_FILE);
}

export async function loadConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(path, `cannot read config file: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw jsonSyntaxError(path, text, err);
  }
  return parseConfig(json, env);
}
