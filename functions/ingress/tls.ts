/**
 * The ingress's TLS certificate (STARTTLS, RFC 3207, and implicit TLS, RFC 8314), never
 * smtp-server's bundled demo key (CN=localhost, expired, its private key public). In order:
 * 1. `MAILBAG_TLS_CERT` / `MAILBAG_TLS_KEY`: PEM text (the ECS task gets them from Secrets
 *    Manager);
 * 2. the config's `tls.certFile` / `tls.keyFile`, re-read when either file changes, no restart;
 * 3. else a self-signed certificate for the gateway's hostname, generated on first start and
 *    kept in the data directory (memory only without one), said so in the start banner.
 */
import { type StatWatcher, unwatchFile, watchFile } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import { generate } from "selfsigned";
import type { Config } from "../../core/config.ts";
import { StartupError } from "../../core/errors.ts";
import { describeError, log } from "../shared/log.ts";

/** The config's certificate files (core/config-ingress.ts `tls`). */
export type TlsSettings = Pick<Config["tls"], "certFile" | "keyFile">;

export interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
  /** Where it came from, for the start banner. */
  readonly source: string;
}

export const TLS_CERT_ENV = "MAILBAG_TLS_CERT";
export const TLS_KEY_ENV = "MAILBAG_TLS_KEY";

/** Generated certificates of this process by hostname (memory-only ones are made once). */
const generated = new Map<string, Promise<TlsMaterial>>();

export async function loadTls(opts: {
  readonly settings?: TlsSettings | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly hostname: string;
  readonly dataDir?: string | undefined;
}): Promise<TlsMaterial> {
  const env = opts.env ?? process.env;
  const cert = env[TLS_CERT_ENV];
  const key = env[TLS_KEY_ENV];
  if (cert || key) {
    if (!cert || !key)
      throw new StartupError(TLS_CERT_ENV, `set both ${TLS_CERT_ENV} and ${TLS_KEY_ENV}`);
    return checked({ cert, key, source: `${TLS_CERT_ENV}/${TLS_KEY_ENV}` }, TLS_CERT_ENV);
  }
  if (opts.settings?.certFile && opts.settings.keyFile) return readTlsFiles(opts.settings);
  let material = generated.get(`${opts.dataDir}:${opts.hostname}`);
  if (!material) {
    material = selfSigned(opts.hostname, opts.dataDir);
    generated.set(`${opts.dataDir}:${opts.hostname}`, material);
  }
  return material;
}

async function readTlsFiles(settings: TlsSettings): Promise<TlsMaterial> {
  const certFile = settings.certFile ?? "";
  const keyFile = settings.keyFile ?? "";
  const read = (file: string, field: string) =>
    readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
      throw new StartupError(field, `cannot read ${file}: ${err.code ?? err.message}`);
    });
  const [cert, key] = await Promise.all([
    read(certFile, "tls.certFile"),
    read(keyFile, "tls.keyFile"),
  ]);
  return checked({ cert, key, source: `${certFile} + ${keyFile} (reloaded on change)` }, "tls");
}

/** A key that does not belong to the certificate, or no PEM at all, stops the start. */
function checked(material: TlsMaterial, field: string): TlsMaterial {
  try {
    createSecureContext({ cert: material.cert, key: material.key });
  } catch (err) {
    throw new StartupError(field, `unusable certificate or key: ${(err as Error).message}`);
  }
  return material;
}

async function selfSigned(hostname: string, dataDir: string | undefined): Promise<TlsMaterial> {
  const dir = dataDir ? join(dataDir, "tls") : undefined;
  const certFile = dir ? join(dir, `${hostname}.crt`) : undefined;
  const keyFile = dir ? join(dir, `${hostname}.key`) : undefined;
  if (certFile && keyFile) {
    const [cert, key] = await Promise.all([
      readFile(certFile, "utf8").catch(() => undefined),
      readFile(keyFile, "utf8").catch(() => undefined),
    ]);
    if (cert && key)
      return checked({ cert, key, source: `self-signed for ${hostname}, ${certFile}` }, "tls");
  }
  const now = new Date();
  const pems = await generate([{ name: "commonName", value: hostname }], {
    keyType: "rsa",
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 825 * 24 * 3600 * 1000),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 2, value: hostname }] },
    ],
  });
  const material = { cert: pems.cert, key: pems.private };
  if (!dir || !certFile || !keyFile)
    return { ...material, source: `self-signed for ${hostname}, generated now, memory only` };
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(keyFile, material.key, { mode: 0o600 });
    await writeFile(certFile, material.cert, { mode: 0o644 });
  } catch (err) {
    // A read-only container: still TLS, only not the same certificate after a restart.
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    return { ...material, source: `self-signed for ${hostname}, memory only (${dir}: ${code})` };
  }
  return { ...material, source: `self-signed for ${hostname}, generated now, kept in ${certFile}` };
}

/**
 * Calls `onChange` with the new material whenever the configured files change (polled: it also
 * sees a file replaced by rename, as certificate renewal tools do). A pair that does not load
 * is logged and the current one kept. Returns the function that stops watching.
 */
export function watchTlsFiles(
  settings: TlsSettings | undefined,
  onChange: (material: TlsMaterial) => void,
  intervalMs = 2_000,
): () => void {
  const files = [settings?.certFile, settings?.keyFile].filter((f): f is string => !!f);
  if (files.length !== 2 || process.env[TLS_CERT_ENV] || process.env[TLS_KEY_ENV]) return () => {};
  let pending: NodeJS.Timeout | undefined;
  const changed = () => {
    // cert and key are usually replaced one after the other: read both once they settle.
    clearTimeout(pending);
    pending = setTimeout(() => {
      readTlsFiles(settings ?? {}).then(
        (material) => {
          log.info("tls-reloaded", { source: material.source });
          onChange(material);
        },
        (err: unknown) => log.warn("tls-reload-failed", describeError(err)),
      );
    }, 200);
  };
  const watchers: StatWatcher[] = files.map((f) =>
    watchFile(f, { interval: intervalMs, persistent: false }, changed),
  );
  return () => {
    clearTimeout(pending);
    for (const f of files) unwatchFile(f, changed);
    void watchers;
  };
}
