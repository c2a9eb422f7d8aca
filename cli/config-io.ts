/**
 * The config file for the administration commands (route, dns, postoffice, address-map,
 * gateway): read and validated without the submit passwords, which only the ingress needs, and
 * written only after the edited config validates: to a temporary file in the same directory,
 * synced, then renamed over the original, so the file is never half-written nor invalid.
 */
import { open, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type Config, type ConfigInput, jsonSyntaxError, parseConfig } from "../core/config.ts";
import { formatJson } from "../core/config-edit.ts";
import { ConfigError, MailbagError } from "../core/errors.ts";
import { configPath } from "../functions/shared/config-file.ts";
import { UsageError } from "./common.ts";

async function readRaw(path: string): Promise<ConfigInput> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(path, `cannot read config file: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as ConfigInput;
  } catch (err) {
    throw jsonSyntaxError(path, text, err);
  }
}

/** parseConfig only checks that each passwordEnv variable exists; administering needs none. */
function validate(raw: ConfigInput): Config {
  const names = (Array.isArray(raw?.postoffices) ? raw.postoffices : []).flatMap(
    (po) => po?.submit?.users?.map((u) => u.passwordEnv) ?? [],
  );
  return parseConfig(raw, { ...Object.fromEntries(names.map((n) => [n, ""])), ...process.env });
}

export async function readConfig(explicit: string | undefined): Promise<Config> {
  return validate(await readRaw(configPath(explicit)));
}

/** Reads, edits, validates, writes. A refused edit leaves the file as it was (exit code 2). */
export async function editConfigFile(
  explicit: string | undefined,
  change: (raw: ConfigInput) => ConfigInput,
): Promise<Config> {
  const path = configPath(explicit);
  const raw = await readRaw(path);
  let next: ConfigInput;
  let config: Config;
  try {
    next = change(raw);
    config = validate(next);
  } catch (err) {
    if (err instanceof MailbagError) throw new UsageError(`${err.reason}; ${path} not changed`);
    throw err;
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const file = await open(tmp, "wx", (await stat(path)).mode);
  try {
    await file.writeFile(formatJson(next), "utf8");
    await file.sync();
    await file.close();
    await rename(tmp, path);
  } catch (err) {
    await file.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  return config;
}
