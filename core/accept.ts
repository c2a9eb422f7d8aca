/**
 * Accepting a message: stream DATA into the mailbag, store the envelope, queue the route job.
 * Only when all three writes have succeeded may the ingress answer 250 (DESIGN: a 250 means
 * durable). On any failure the objects already written are removed and the caller answers 4xx:
 * without a route job nothing will ever deliver them, and a job queued although its call failed
 * finds its body gone and is abandoned (route-message.ts), so a refused attempt is never
 * delivered later.
 */
import { createHash } from "node:crypto";
import { PassThrough, type Readable } from "node:stream";
import { carriedEnvelope, type Envelope } from "./envelope.ts";
import { BackendUnavailableError, isMailbagError, MessageTooLargeError } from "./errors.ts";
import { type LoopPolicy, loopScanner, traceHeader } from "./loop.ts";
import { keys } from "./names.ts";
import type { JobQueue, MailbagStore } from "./ports.ts";

export interface AcceptDeps {
  readonly store: MailbagStore;
  readonly queue: JobQueue;
  /** The gateway's route queue name. */
  readonly routeQueue: string;
}

export interface AcceptInput {
  /** The DATA stream (dot-unstuffed); always read to its end, even after a failure. */
  readonly data: Readable;
  /** Trace headers to prepend, CRLF-terminated. */
  readonly header: string;
  readonly envelope: Omit<Envelope, "version" | "size" | "sha256" | "rcptParams"> &
    Partial<Pick<Envelope, "rcptParams">>;
  readonly maxBytes: number;
  /** Refuse looping messages (routingLoop) and prepend this gateway's trace field (loop.ts). */
  readonly loop?: LoopPolicy;
}

export async function acceptMessage(deps: AcceptDeps, input: AcceptInput): Promise<Envelope> {
  const { id, gateway } = input.envelope;
  const messageKey = keys.message(id);
  const envelopeKey = keys.envelope(id);
  const hash = createHash("sha256");
  let size = 0;
  const body = new PassThrough({ highWaterMark: 256 * 1024 });
  const write = (chunk: Buffer) => {
    hash.update(chunk);
    size += chunk.length;
    return body.write(chunk);
  };
  const upload = deps.store.putStream(messageKey, body);
  // Keep the SMTP stream flowing to its end whatever happens to the upload, so the client gets
  // a reply to its DATA instead of a stalled connection.
  const header = input.loop ? input.header + traceHeader(input.loop.self, id) : input.header;
  const failure = await pump(
    input.data,
    body,
    write,
    Buffer.from(header, "utf8"),
    input.maxBytes,
    upload,
    input.loop ? loopScanner(input.loop) : () => undefined,
  );
  try {
    if (failure) throw failure;
    await upload;
    const envelope: Envelope = {
      version: 1,
      rcptParams: {},
      ...input.envelope,
      size,
      sha256: hash.digest("hex"),
    };
    await deps.store.putJson(envelopeKey, envelope);
    const job = { v: 1, id, gateway, ...carriedEnvelope(envelope) };
    await deps.queue.send(deps.routeQueue, job, gateway, id);
    return envelope;
  } catch (err) {
    await upload.catch(() => undefined);
    await deps.store.delete([messageKey, envelopeKey]).catch(() => undefined);
    if (isMailbagError(err)) throw err;
    throw new BackendUnavailableError("Temporary failure storing the message, try again later", {
      cause: err,
    });
  }
}

/**
 * Copies `data` into `body` with backpressure; returns the first failure (size limit, loop or
 * upload error) after `data` has ended. On failure `body` is destroyed, which aborts the upload.
 */
function pump(
  data: Readable,
  body: PassThrough,
  write: (chunk: Buffer) => boolean,
  header: Buffer,
  maxBytes: number,
  upload: Promise<void>,
  scan: (chunk: Buffer) => Error | undefined,
): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let failure: Error | undefined;
    let received = 0;
    const fail = (err: Error) => {
      if (failure) return;
      failure = err;
      body.destroy(err);
      data.resume();
    };
    upload.catch((err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));
    write(header);
    data.on("data", (chunk: Buffer) => {
      if (failure) return;
      received += chunk.length;
      if (received > maxBytes) return fail(new MessageTooLargeError(maxBytes));
      const loop = scan(chunk);
      if (loop) return fail(loop);
      if (!write(chunk)) {
        data.pause();
        body.once("drain", () => data.resume());
      }
    });
    data.once("error", (err) => fail(err));
    data.once("end", () => {
      if (!failure) body.end();
      resolve(failure);
    });
  });
}
