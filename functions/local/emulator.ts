/**
 * The embedded AWS emulator (fauxqs): S3 + SQS on the AWS wire protocol, in process, so a new
 * user needs nothing but Node. With a data directory its state, S3 objects included, lives in
 * SQLite, so a message acknowledged with 250 survives a restart of `mailbag start`.
 *
 * It is private to the gateway: bound to 127.0.0.1 only, and every request must carry a SigV4
 * signature made with the gateway's local credentials (signed-requests.ts); anything else gets
 * 403. fauxqs 2.4.1 binds 0.0.0.0 whatever `host` says and checks no signature, so
 * patches/fauxqs+2.4.1.patch adds two options upstream-style: `listenHost` (the interface to
 * bind) and `configure` (add Fastify hooks before listening). The signature is checked in a
 * preParsing hook, in fauxqs's own server: no second port, nothing listens unguarded.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import { startFauxqs } from "fauxqs";
import { localCredentials } from "../shared/aws.ts";
import { log } from "../shared/log.ts";
import {
  type LocalCredentials,
  readSmallBody,
  type SignedRequest,
  signsBody,
  verifySignature,
} from "./signed-requests.ts";

export interface Emulator {
  /** `http://127.0.0.1:PORT`: what AWS_ENDPOINT_URL is set to. */
  readonly endpoint: string;
  readonly port: number;
  /** The only credentials it accepts requests signed with. */
  readonly credentials: LocalCredentials;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  readonly port?: number;
  /** Where state is kept; omit for memory only (tests that need no restart). */
  readonly dataDir?: string;
  readonly region?: string;
  /** Default: the process's local credentials (aws.ts localCredentials). */
  readonly credentials?: LocalCredentials;
}

/**
 * Where the emulator keeps its state under `dataDir`. S3 objects go into the same SQLite
 * database as the queues: fauxqs's alternative, a data file and a metadata file per object,
 * costs two file creations per object, and creating a file costs about 1 ms of system CPU on
 * the machine we measure on, 6.6 ms per relayed message (docs/benchmarks.md, issue 13). A data
 * directory made by an earlier version, with its objects in `s3/`, keeps that layout, so mail
 * waiting there is not lost by an upgrade.
 */
function emulatorStorage(dataDir: string): { dataDir: string; s3StorageDir?: string } {
  const files = join(dataDir, "s3");
  return existsSync(files)
    ? { dataDir: join(dataDir, "state"), s3StorageDir: files }
    : { dataDir: join(dataDir, "state") };
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const storage = opts.dataDir ? emulatorStorage(opts.dataDir) : {};
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  const credentials = opts.credentials ?? localCredentials();
  const server = await startFauxqs({
    port: opts.port ?? 0,
    host: "127.0.0.1",
    listenHost: "127.0.0.1",
    logger: false,
    defaultRegion: opts.region ?? "us-east-1",
    configure: (app) => {
      app.addHook(
        "preParsing",
        async (request: FastifyRequest, reply: FastifyReply, payload: Readable) => {
          let body: Buffer | undefined;
          let next: Readable = payload;
          if (signsBody(request)) {
            const small = await readSmallBody(payload);
            if (small) ({ body, replay: next } = small);
          }
          const verdict = await verifySignature(request as SignedRequest, credentials, body);
          if (!verdict.ok) {
            log.warn("emulator-refused", {
              client: request.ip,
              method: request.method,
              url: request.url,
              reason: verdict.code,
            });
            const json = /json/.test(String(request.headers["content-type"] ?? ""));
            reply
              .code(403)
              .header("content-type", json ? "application/x-amz-json-1.0" : "application/xml")
              .send(
                json
                  ? JSON.stringify({ __type: verdict.code, message: verdict.message })
                  : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${verdict.code}</Code><Message>${verdict.message}</Message></Error>`,
              );
            return reply as unknown as Readable;
          }
          return next;
        },
      );
    },
    ...storage,
  });
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    port: server.port,
    credentials,
    stop: () => server.stop(),
  };
}

/**
 * The local credentials of a data directory: generated on first start and kept in
 * `<dataDir>/credentials` (mode 0600, AWS shared-credentials format, so
 * `AWS_SHARED_CREDENTIALS_FILE=.mailbag/credentials aws --endpoint-url ... s3 ls` works).
 * Credentials already in the environment win, so every process of a local network agrees.
 */
export async function dataDirCredentials(
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ credentials: LocalCredentials; file?: string }> {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY)
    return { credentials: localCredentials(env) };
  const file = join(dataDir, "credentials");
  const text = await readFile(file, "utf8").catch(() => undefined);
  const id = /aws_access_key_id\s*=\s*(\S+)/.exec(text ?? "")?.[1];
  const secret = /aws_secret_access_key\s*=\s*(\S+)/.exec(text ?? "")?.[1];
  if (id && secret) return { credentials: { accessKeyId: id, secretAccessKey: secret }, file };
  const credentials = {
    accessKeyId: `MBLOCAL${randomBytes(7).toString("hex").toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString("base64url"),
  };
  await mkdir(dataDir, { recursive: true });
  await writeFile(
    file,
    `[default]\naws_access_key_id = ${credentials.accessKeyId}\naws_secret_access_key = ${credentials.secretAccessKey}\n`,
    { mode: 0o600 },
  );
  await chmod(file, 0o600);
  return { credentials, file };
}

/** Makes every AWS client this process creates from now on sign with `credentials`. */
export function useCredentials(credentials: LocalCredentials): void {
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
}
