/**
 * The config file for the administration commands (route, dns, postoffice, address-map,
 * gateway): read through the one loader (functions/shared/config-file.ts) and written only after
 * the edited config validates: to a temporary file in the same directory, synced, then renamed
 * over the original, so the file is never half-written nor invalid.
 */
import { open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type Config, type ConfigInput, parseConfig } from "../core/config.ts";
import { isConfigError, isMailbagError } from "../core/errors.ts";
import { configPath, loadConfig, readConfigFile } from "../functions/shared/config-file.ts";
import { UsageError } from "./common.ts";
import { formatJson } from "./format-json.ts";

/** The config file (never the published directory: these commands administer the file). */
export async function readConfig(explicit: string | undefined): Promise<Config> {
  return (await loadConfig({ file: configPath(explicit) })).config;
}

/** Reads, edits, validates, writes. A refused edit leaves the file as it was (exit code 2). */
export async function editConfigFile(
  explicit: string | undefined,
  change: (raw: ConfigInput) => ConfigInput,
): Promise<Config> {
  const path = configPath(explicit);
  const raw = readConfigFile(path) as ConfigInput;
  let next: ConfigInput;
  let config: Config;
  try {
    next = change(raw);
    config = parseConfig(next, process.env);
  } catch (err) {
    if (isConfigError(err)) {
      const issues = err.issues.map((i) => `${i.path}: ${i.reason}`).join("; ");
      throw new UsageError(`${issues}; ${path} not changed`);
    }
    if (isMailbagError(err)) throw new UsageError(`${err.reason}; ${path} not changed`);
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
