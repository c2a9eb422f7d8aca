/**
 * The one config loader. The config is the file (`--config`, MAILBAG_CONFIG or
 * ./mailbag.config.json) or, in a deployed gateway, the published directory (MAILBAG_DIRECTORY,
 * directory.ts); `configSource` makes that choice and `loadConfig` reads and validates either.
 * The CLI, the Lambda runtime and the CDK app all load through here, and this is the only
 * module that reads the config file.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { type Config, type ConfigEnv, parseConfig } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";
import { jsonSyntaxError } from "../../core/json-position.ts";
import { DIRECTORY_ENV, fetchDirectory } from "./directory.ts";

export const DEFAULT_CONFIG_FILE = "mailbag.config.json";

/** Where the config comes from: a file, or the published directory object in S3. */
export type ConfigSource =
  | { readonly file: string }
  | { readonly directory: string; readonly s3: S3Client };

export interface LoadedConfig {
  readonly config: Config;
  /** The JSON exactly as written: what the CDK app publishes as the directory. */
  readonly raw: unknown;
}

/** `--config` beats MAILBAG_CONFIG beats ./mailbag.config.json. */
export function configPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(explicit ?? env.MAILBAG_CONFIG ?? DEFAULT_CONFIG_FILE);
}

/**
 * The published directory (MAILBAG_DIRECTORY, set on deployed functions and the ingress task)
 * beats the file; `s3` is only called when the directory is used.
 */
export function configSource(
  explicit: string | undefined,
  s3: () => S3Client,
  env: NodeJS.ProcessEnv = process.env,
): ConfigSource {
  const directory = env[DIRECTORY_ENV];
  return directory ? { directory, s3: s3() } : { file: configPath(explicit, env) };
}

/** The config file's JSON, unvalidated (the CLI edits it as written). */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(path, `cannot read config file: ${(err as Error).message}`);
  }
  return parseJson(path, text);
}

export function parseJson(where: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw jsonSyntaxError(where, text, err);
  }
}

/** Synchronous, for the CDK app's callers that cannot wait (the layout tests). */
export function loadConfigFile(path: string, env: ConfigEnv = process.env): LoadedConfig {
  const raw = readConfigFile(path);
  return { config: parseConfig(raw, env), raw };
}

/** Reads and validates the config from its source; a ConfigError names what is wrong. */
export async function loadConfig(
  source: ConfigSource,
  env: ConfigEnv = process.env,
): Promise<LoadedConfig> {
  if ("file" in source) return loadConfigFile(source.file, env);
  const raw = parseJson(source.directory, await fetchDirectory(source.s3, source.directory));
  return { config: parseConfig(raw, env), raw };
}
