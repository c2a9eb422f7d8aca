/**
 * The embedded AWS emulator (fauxqs): S3 + SQS on the AWS wire protocol, in process, so a new
 * user needs nothing but Node. With a data directory its state lives in SQLite and S3 objects
 * in plain files, so a message acknowledged with 250 survives a restart of `mailbag start`.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { startFauxqs } from "fauxqs";

export interface Emulator {
  /** `http://127.0.0.1:PORT`: what AWS_ENDPOINT_URL is set to. */
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  readonly port?: number;
  /** Where state is kept; omit for memory only (tests that need no restart). */
  readonly dataDir?: string;
  readonly region?: string;
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const storage = opts.dataDir
    ? { dataDir: join(opts.dataDir, "state"), s3StorageDir: join(opts.dataDir, "s3") }
    : {};
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  const server = await startFauxqs({
    port: opts.port ?? 0,
    host: "127.0.0.1",
    logger: false,
    defaultRegion: opts.region ?? "us-east-1",
    ...storage,
  });
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    port: server.port,
    stop: () => server.stop(),
  };
}
