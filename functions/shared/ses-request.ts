/**
 * One SES send as a streamed HTTP request, so the delivery function never holds the message:
 * the SDK's SendRawEmail builds the whole base64, form-encoded request as one string (about 7.5×
 * the message in memory, bench/ses-memory.ts), which no 128 MB function survives for SES's
 * largest messages.
 *
 * The request body is `prefix + base64(message) + suffix`: for the v2 API's SendEmail a JSON
 * document with the message as `Content.Raw.Data`
 * (https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html), for the v1 API's
 * SendRawEmail a Query form with the base64 also form-encoded (`+` `/` `=` escaped)
 * (https://docs.aws.amazon.com/ses/latest/APIReference/API_SendRawEmail.html). Both carry the
 * base64 in the middle of a small frame, so it is encoded chunk by chunk as the message streams.
 *
 * SigV4 signs the SHA-256 of the payload before the body is sent, and outside S3 there is no
 * unsigned or chunk-signed payload (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
 * So the message is read twice from the mailbag, in constant memory: the first read hashes and
 * counts the encoded body; the request is signed with that hash and its exact Content-Length; the
 * second read is encoded again and sent. The second read is hashed as it goes and the frame's
 * last bytes are sent only when it matches the first, so a message that changed between the
 * reads is never completed: the request is aborted and SES sees no message.
 *
 * The signing uses the SDK's own pieces from an SES client: its resolved credentials (chain),
 * region and endpoint, @smithy/signature-v4, and its Node HTTP handler (kept-alive sockets).
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import type { SESClient } from "@aws-sdk/client-ses";
import { SignatureV4 } from "@smithy/signature-v4";
import type { HttpResponse } from "@smithy/types";

export type SesApi = "v1" | "v2";

/**
 * SES's maximum message size counts the message after base64 encoding: 10 MB for the v1 API,
 * 40 MB for the v2 API (https://docs.aws.amazon.com/ses/latest/dg/quotas.html). "MB" taken as
 * MiB: SES's own refusal reads "Message length is more than 10485760 bytes long".
 */
export const SES_MAX_ENCODED_BYTES: Readonly<Record<SesApi, number>> = {
  v1: 10 * 1024 * 1024,
  v2: 40 * 1024 * 1024,
};

/** Bytes of the base64 of `size` bytes (RFC 4648 §4, padded). */
export const base64Length = (size: number) => 4 * Math.ceil(size / 3);

/** The largest message whose base64 fits in `encodedLimit` bytes. */
export const largestMessage = (encodedLimit: number) => Math.floor(encodedLimit / 4) * 3;

export interface SesSend {
  readonly from: string;
  readonly to: readonly string[];
  readonly configurationSet?: string | undefined;
}

/** The HTTP request around the message: method POST, path, content type, the bytes before and after. */
export interface SesFrame {
  readonly api: SesApi;
  readonly path: string;
  readonly contentType: string;
  readonly prefix: Buffer;
  readonly suffix: Buffer;
  /** The v1 form escapes base64's `+`, `/` and `=` (application/x-www-form-urlencoded). */
  readonly formEncoded: boolean;
}

/** RFC 3986 unreserved only, as the SDK's Query serializer escapes (encodeURIComponent leaves !'()*). */
const formValue = (s: string) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

export function sesFrame(api: SesApi, send: SesSend): SesFrame {
  if (api === "v2") {
    // Content last, so the frame's suffix is a few fixed bytes; the rest is ordinary JSON.
    const head = JSON.stringify({
      ...(send.from ? { FromEmailAddress: send.from } : {}),
      Destination: { ToAddresses: [...send.to] },
      ...(send.configurationSet ? { ConfigurationSetName: send.configurationSet } : {}),
    });
    return {
      api,
      path: "/v2/email/outbound-emails",
      contentType: "application/json",
      prefix: Buffer.from(`${head.slice(0, -1)},"Content":{"Raw":{"Data":"`),
      suffix: Buffer.from('"}}}'),
      formEncoded: false,
    };
  }
  const fields = [
    ["Action", "SendRawEmail"],
    // A null reverse-path (a bounce) sends no Source: SES then takes the From: header's address.
    ...(send.from ? [["Source", send.from]] : []),
    ...send.to.map((r, i) => [`Destinations.member.${i + 1}`, r]),
    ...(send.configurationSet ? [["ConfigurationSetName", send.configurationSet]] : []),
  ];
  const form = fields.map(([k, v]) => `${k}=${formValue(v ?? "")}`).join("&");
  return {
    api,
    path: "/",
    contentType: "application/x-www-form-urlencoded; charset=utf-8",
    prefix: Buffer.from(`${form}&RawMessage.Data=`),
    // Version after the data, so the last bytes of the request are frame, never message.
    suffix: Buffer.from("&Version=2010-12-01"),
    formEncoded: true,
  };
}

const FORM_ESCAPES: Readonly<Record<string, string>> = { "+": "%2B", "/": "%2F", "=": "%3D" };

/**
 * The base64 of `source`, chunk by chunk: each chunk's whole 3-byte groups are encoded and the
 * 0-2 bytes left over go in front of the next chunk, so the output equals the base64 of the
 * whole message. Memory: one chunk.
 */
export async function* base64Chunks(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  formEncoded: boolean,
): AsyncGenerator<Buffer> {
  const encode = (b: Buffer) => {
    const s = b.toString("base64");
    return Buffer.from(
      formEncoded ? s.replace(/[+/=]/g, (c) => FORM_ESCAPES[c] ?? c) : s,
      "latin1",
    );
  };
  let rest = Buffer.alloc(0);
  for await (const piece of source) {
    const chunk =
      typeof piece === "string"
        ? Buffer.from(piece)
        : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    const data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    const whole = data.length - (data.length % 3);
    rest = Buffer.from(data.subarray(whole));
    if (whole > 0) yield encode(data.subarray(0, whole));
  }
  if (rest.length > 0) yield encode(rest);
}

/** What the first read learns: the payload's SHA-256 (hex) and length, and the message's size. */
export interface Measured {
  readonly sha256: string;
  readonly length: number;
  readonly messageBytes: number;
}

/**
 * First read: hashes and counts the request body without keeping any of it. `tooLarge` is thrown
 * as soon as the message's base64 passes `encodedLimit` (the rest is not read).
 */
export async function measure(
  frame: SesFrame,
  message: AsyncIterable<Buffer | Uint8Array | string>,
  encodedLimit: number,
  tooLarge: (messageBytes: number) => Error,
): Promise<Measured> {
  const hash = createHash("sha256").update(frame.prefix);
  let length = frame.prefix.length;
  let messageBytes = 0;
  const counted = async function* () {
    for await (const piece of message) {
      const chunk = typeof piece === "string" ? Buffer.from(piece) : piece;
      messageBytes += chunk.byteLength;
      if (base64Length(messageBytes) > encodedLimit) throw tooLarge(messageBytes);
      yield chunk;
    }
  };
  for await (const encoded of base64Chunks(counted(), frame.formEncoded)) {
    hash.update(encoded);
    length += encoded.length;
  }
  hash.update(frame.suffix);
  length += frame.suffix.length;
  return { sha256: hash.digest("hex"), length, messageBytes };
}

/** The error a second read that differs from the first ends the request with. */
export class ChangedBetweenReadsError extends Error {
  override readonly name = "ChangedBetweenReadsError";
}

/**
 * Second read: the request body, checked against the first read before its last bytes (the
 * frame's suffix) are let out.
 */
export async function* requestBody(
  frame: SesFrame,
  message: AsyncIterable<Buffer | Uint8Array | string>,
  expected: Measured,
): AsyncGenerator<Buffer> {
  const hash = createHash("sha256").update(frame.prefix);
  let length = frame.prefix.length;
  yield frame.prefix;
  for await (const encoded of base64Chunks(message, frame.formEncoded)) {
    hash.update(encoded);
    length += encoded.length;
    if (length + frame.suffix.length > expected.length)
      throw new ChangedBetweenReadsError("the message grew between the two reads");
    yield encoded;
  }
  hash.update(frame.suffix);
  length += frame.suffix.length;
  if (length !== expected.length || hash.digest("hex") !== expected.sha256)
    throw new ChangedBetweenReadsError("the message changed between the two reads");
  yield frame.suffix;
}

/** SES's answer: 2xx with the message id, or its error code and message. */
export type SesAnswer =
  | { readonly ok: true; readonly messageId: string; readonly host: string }
  | {
      readonly ok: false;
      readonly status: number;
      readonly code: string;
      readonly message: string;
      readonly host: string;
    };

/** Longest SES reply read (they are a few hundred bytes; anything longer is cut, not buffered). */
const MAX_REPLY_BYTES = 64 * 1024;

/**
 * Sends one message through SES: `first` is read to sign, `reopen()` gives a second stream of
 * the same bytes that is sent. Rejects only when no answer came (network, aborted request).
 */
export async function sendThroughSes(
  ses: SESClient,
  frame: SesFrame,
  first: AsyncIterable<Buffer | Uint8Array | string>,
  reopen: () => Promise<Readable>,
  encodedLimit: number,
  tooLarge: (messageBytes: number) => Error,
): Promise<SesAnswer> {
  const measured = await measure(frame, first, encodedLimit, tooLarge);
  const region = await ses.config.region();
  const { url } = ses.config.endpointProvider({
    Region: region,
    UseFIPS: await ses.config.useFipsEndpoint(),
    UseDualStack: await ses.config.useDualstackEndpoint(),
    ...(ses.config.endpoint ? { Endpoint: endpointUrl(await ses.config.endpoint()) } : {}),
  });
  const signer = new SignatureV4({
    credentials: ses.config.credentials,
    region,
    service: "ses",
    sha256: ses.config.sha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  const host = url.host;
  const port = url.port ? Number(url.port) : undefined;
  const unsigned = {
    method: "POST",
    protocol: url.protocol,
    hostname: url.hostname,
    ...(port ? { port } : {}),
    path: `${url.pathname.replace(/\/$/, "")}${frame.path}`,
    query: {},
    headers: {
      host,
      "content-type": frame.contentType,
      "content-length": String(measured.length),
      // Read by the signer as the payload hash; not signed and not sent (only S3 takes it).
      "x-amz-content-sha256": measured.sha256,
    } as Record<string, string>,
  };
  const signed = await signer.sign(unsigned, {
    unsignableHeaders: new Set(["x-amz-content-sha256"]),
  });
  delete signed.headers["x-amz-content-sha256"];
  const second = await reopen();
  const body = Readable.from(requestBody(frame, second, measured), { objectMode: false });
  // The handler pipes the body into the request, and a pipe does not pass errors on: a failed
  // read (or a changed message) aborts the request here, and is what the send rejects with.
  const abort = new AbortController();
  let bodyError: unknown;
  body.on("error", (err) => {
    bodyError = err;
    abort.abort();
  });
  body.on("close", () => second.destroy());
  let response: HttpResponse;
  try {
    ({ response } = await ses.config.requestHandler.handle(
      { ...signed, body } as Parameters<typeof ses.config.requestHandler.handle>[0],
      { abortSignal: abort.signal },
    ));
  } catch (err) {
    throw bodyError ?? err;
  }
  if (bodyError) throw bodyError;
  const reply = await readReply(response.body as IncomingMessage);
  return parseAnswer(frame.api, response.statusCode, response.headers, reply, url.hostname);
}

function endpointUrl(e: { protocol: string; hostname: string; port?: number; path: string }) {
  return `${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ""}${e.path}`;
}

async function readReply(body: AsyncIterable<Buffer> | undefined): Promise<string> {
  if (!body) return "";
  const chunks: Buffer[] = [];
  let n = 0;
  // Read to the end even past the cap, so the kept-alive socket is free for the next send.
  for await (const chunk of body) {
    if (n < MAX_REPLY_BYTES) chunks.push(chunk.subarray(0, MAX_REPLY_BYTES - n));
    n += chunk.length;
  }
  return Buffer.concat(chunks).toString("utf8");
}

const XML_ENTITIES: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};
const xmlText = (s: string) =>
  s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => XML_ENTITIES[e] ?? _);
const xmlField = (xml: string, name: string) =>
  xmlText(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1]?.trim() ?? "");

/**
 * SES's reply: v1 (Query) answers XML, `<MessageId>` or `<Error><Code>…<Message>…`
 * (https://docs.aws.amazon.com/ses/latest/APIReference/CommonErrors.html); v2 (REST-JSON)
 * answers `{"MessageId"}` or an error named by the `x-amzn-ErrorType` header (or `__type`) with
 * `{"message"}` (https://docs.aws.amazon.com/ses/latest/APIReference-V2/CommonErrors.html).
 */
export function parseAnswer(
  api: SesApi,
  status: number,
  headers: Record<string, string | undefined>,
  reply: string,
  host: string,
): SesAnswer {
  if (api === "v1") {
    const messageId = xmlField(reply, "MessageId");
    if (status >= 200 && status < 300 && messageId) return { ok: true, messageId, host };
    return {
      ok: false,
      status,
      code: xmlField(reply, "Code") || `HTTP${status}`,
      message: xmlField(reply, "Message") || reply.slice(0, 200),
      host,
    };
  }
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(reply) as Record<string, unknown>;
  } catch {
    // A proxy's HTML error page, say: the status decides.
  }
  if (status >= 200 && status < 300 && typeof json.MessageId === "string")
    return { ok: true, messageId: json.MessageId, host };
  const type = headers["x-amzn-errortype"] ?? (typeof json.__type === "string" ? json.__type : "");
  // "MessageRejected:http://internal.amazon.com/coral/…" or "com.amazonaws…#MessageRejected".
  const code = type.split(":")[0]?.split("#").pop() || `HTTP${status}`;
  const message = String(json.message ?? json.Message ?? reply.slice(0, 200));
  return { ok: false, status, code, message, host };
}
