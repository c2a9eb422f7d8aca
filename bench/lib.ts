/**
 * Benchmark plumbing: child processes of the real CLI, RSS sampling from /proc, a counting
 * smart host that hashes what it receives without keeping it, and a generated message stream.
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { SMTPServer } from "smtp-server";

export const ROOT = new URL("..", import.meta.url).pathname;

// The embedded emulator accepts only requests signed with the local credentials: every process
// of a benchmark (emulator, ingress, functions, this one) inherits the same ones.
if (!process.env.AWS_ACCESS_KEY_ID || !process.env.AWS_SECRET_ACCESS_KEY) {
  process.env.AWS_ACCESS_KEY_ID = "MBBENCH";
  process.env.AWS_SECRET_ACCESS_KEY = randomBytes(24).toString("base64url");
}

export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Runs `mailbag <args>` and waits for a stdout line matching `ready`; returns its first group. */
export async function mailbag(
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
): Promise<Proc & { match: string }> {
  const child = spawn(process.execPath, ["--enable-source-maps", "dist/mailbag.js", ...args], {
    cwd: ROOT,
    env: { ...process.env, MAILBAG_LOG: "warn", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  const match = await new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(m[1] ?? m[0]);
    });
    child.once("exit", (code) =>
      reject(new Error(`mailbag ${args.join(" ")} exited ${code}: ${out}`)),
    );
  });
  return {
    child,
    pid: child.pid ?? 0,
    match,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

export interface LambdaHost extends Proc {
  invoke(event: SQSEvent): Promise<SQSBatchResponse | undefined>;
}

/** A function bundle (dist/functions/NAME.mjs, see scripts/build.mjs) in bench/lambda-host.mjs. */
export async function lambdaHost(
  name: string,
  configFile: string,
  env: NodeJS.ProcessEnv,
): Promise<LambdaHost> {
  const child = fork(
    join(ROOT, "bench", "lambda-host.mjs"),
    [join(ROOT, "dist", "functions", `${name}.mjs`), name],
    {
      env: { ...process.env, ...env, MAILBAG_CONFIG: configFile, MAILBAG_LOG: "warn" },
    },
  );
  const pending = new Map<number, (r: { result?: SQSBatchResponse; error?: string }) => void>();
  let next = 0;
  await new Promise((resolve) => child.once("message", resolve));
  child.on("message", (m: { id: number; result?: SQSBatchResponse; error?: string }) =>
    pending.get(m.id)?.(m),
  );
  return {
    child,
    pid: child.pid ?? 0,
    invoke: (event) =>
      new Promise((resolve, reject) => {
        const id = ++next;
        pending.set(id, (r) => {
          pending.delete(id);
          r.error ? reject(new Error(r.error)) : resolve(r.result);
        });
        child.send({ id, event });
      }),
    stop: async () => {
      child.kill("SIGTERM");
    },
  };
}

/** Resident set size now and its high-water mark, in MiB (Linux /proc). */
export function rss(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { now: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** Samples a process's RSS every `ms` until stopped; returns the maximum seen. */
export function sampleRss(pid: number, ms = 20): { stop(): number } {
  let max = rss(pid).now;
  const timer = setInterval(() => {
    try {
      max = Math.max(max, rss(pid).now);
    } catch {
      clearInterval(timer);
    }
  }, ms);
  return {
    stop() {
      clearInterval(timer);
      return max;
    },
  };
}

export interface CountingSink {
  readonly url: string;
  /**
   * Messages received so far, each with its size, the sha256 of what follows our Received header,
   * its Subject and when it arrived (performance.now()).
   */
  readonly received: { size: number; bodySha256: string; subject: string; at: number }[];
  close(): Promise<void>;
}

/** A smart host that keeps nothing: hashes the bytes after the trace headers the gateway prepends. */
export async function countingSink(): Promise<CountingSink> {
  const received: CountingSink["received"] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    disableReverseLookup: true,
    logger: false,
    size: 0,
    onData(stream, _session, cb) {
      const hash = createHash("sha256");
      let size = 0;
      let head = Buffer.alloc(0);
      let inHeader = true;
      stream.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (!inHeader) return void hash.update(chunk);
        head = Buffer.concat([head, chunk]);
        // Our trace headers: `Received:` (folded lines start with a tab), then `Mailbag-Trace:`.
        const m = /^Received: [^\r]*\r\n(\t[^\r]*\r\n)*Mailbag-Trace: [^\r]*\r\n/.exec(
          head.toString("latin1"),
        );
        if (m && head.length > m[0].length) {
          inHeader = false;
          hash.update(head.subarray(m[0].length));
        }
      });
      stream.on("end", () => {
        const subject = /\r\nSubject: ([^\r]*)/.exec(head.subarray(0, 4096).toString("latin1"));
        received.push({
          size,
          bodySha256: hash.digest("hex"),
          subject: subject?.[1] ?? "",
          at: performance.now(),
        });
        cb(null, "2.0.0 Ok");
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * An RFC 5322 message of about `bytes` (whole lines) produced on demand (never held whole): headers, then 78-char
 * lines. Returns the stream and a promise of its sha256.
 */
export function generatedMessage(
  bytes: number,
  subject: string,
): { stream: Readable; sha256: Promise<string> } {
  const header = Buffer.from(
    `From: bench@hq.company.test\r\nTo: someone@partner.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@hq.company.test>\r\n\r\n`,
  );
  const line = Buffer.from(
    `${"The quick brown fox jumps over the lazy dog 0123456789 ".repeat(2).slice(0, 76)}\r\n`,
  );
  const chunk = Buffer.concat(Array.from({ length: 840 }, () => line)); // ~64 KiB
  const hash = createHash("sha256");
  let sent = 0;
  let resolveHash: (h: string) => void = () => {};
  const sha256 = new Promise<string>((r) => {
    resolveHash = r;
  });
  const stream = new Readable({
    read() {
      if (sent === 0) {
        hash.update(header);
        sent += header.length;
        this.push(header);
        return;
      }
      // Whole lines only: a message must end in CRLF, or the client adds one the sink then sees.
      const room = Math.min(chunk.length, bytes - sent);
      const piece = chunk.subarray(0, room - (room % line.length));
      if (piece.length === 0) {
        resolveHash(hash.digest("hex"));
        this.push(null);
        return;
      }
      hash.update(piece);
      sent += piece.length;
      this.push(piece);
    },
  });
  return { stream, sha256 };
}
