/**
 * The embedded emulator answers only requests signed with the gateway's local credentials.
 * fauxqs checks no signature at all, so without this anyone who reaches its port reads every
 * mailbag and can queue a route job that the router delivers with any sender (issue 11).
 *
 * The check recomputes the AWS Signature Version 4 of each request with @smithy/signature-v4
 * (the SDK's own signer) over exactly the headers the client signed, and compares it in
 * constant time (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html).
 * S3 requests sign their payload hash in `x-amz-content-sha256`; the signature covers that
 * header, so their bodies stream on unbuffered. Requests without it (SQS's small JSON bodies)
 * are hashed here; such a body is limited to MAX_HASHED_BODY bytes.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import { SignatureV4 } from "@smithy/signature-v4";
import { NodeSha256 } from "../shared/sha256.ts";

export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** What the check needs of an HTTP request (Fastify's and Node's requests both fit). */
export interface SignedRequest {
  readonly method: string;
  /** Path and query exactly as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export type Verdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** AWS refuses a request whose signing time is more than 15 minutes off (RequestTimeTooSkewed). */
const MAX_SKEW_MS = 15 * 60 * 1000;
/** SQS allows 1 MiB message bodies; its JSON requests stay below this. */
export const MAX_HASHED_BODY = 2 * 1024 * 1024;

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;_.-]+), ?Signature=([0-9a-f]{64})$/;

/**
 * True if the signature covers the body itself rather than an `x-amz-content-sha256` header
 * (SQS): then the body must be read to check it.
 */
export function signsBody(req: SignedRequest): boolean {
  const header = req.headers.authorization ?? "";
  const signed = /SignedHeaders=([^,\s]+)/.exec(header)?.[1]?.split(";") ?? [];
  return header !== "" && !signed.includes("x-amz-content-sha256");
}

/**
 * Verifies the SigV4 `Authorization` header of `req`. `body` is the request body, needed only
 * when `signsBody(req)`.
 */
export async function verifySignature(
  req: SignedRequest,
  credentials: LocalCredentials,
  body?: Uint8Array,
  now: Date = new Date(),
): Promise<Verdict> {
  const header = req.headers.authorization;
  if (!header) return deny("AccessDenied", "Anonymous requests are refused: sign them (SigV4)");
  const m = AUTHORIZATION.exec(header);
  if (!m) return deny("AccessDenied", "Only AWS4-HMAC-SHA256 Authorization headers are accepted");
  const [, keyId = "", day = "", region = "", service = "", signedList = "", signature = ""] = m;
  if (keyId !== credentials.accessKeyId)
    return deny("InvalidAccessKeyId", "The access key id is not the gateway's local one");
  const amzDate = single(req.headers["x-amz-date"]);
  const signingDate = amzDate ? parseAmzDate(amzDate) : undefined;
  if (!signingDate || !amzDate?.startsWith(day))
    return deny("AccessDenied", "x-amz-date is missing or does not match the credential scope");
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_SKEW_MS)
    return deny("RequestTimeTooSkewed", "The request time is more than 15 minutes off");

  const signed = signedList.split(";");
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = req.headers[name];
    if (value === undefined) return deny("SignatureDoesNotMatch", `Signed header ${name} missing`);
    headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const [path = "/", search = ""] = req.url.split(/\?(.*)/s);
  const expected = await signerFor(credentials, region, service).sign(
    {
      method: req.method,
      protocol: "http:",
      hostname: (headers.host ?? "").replace(/:\d+$/, ""),
      path,
      query: parseQuery(search),
      // Only the signed headers: the signer signs every header it is given. Without a signed
      // x-amz-content-sha256 it hashes `body` for the canonical request.
      headers,
      body,
    },
    { signingDate, signableHeaders: new Set(signed) },
  );
  const got = /Signature=([0-9a-f]{64})/.exec(single(expected.headers.authorization) ?? "")?.[1];
  return got && timingSafeEqual(Buffer.from(got), Buffer.from(signature))
    ? { ok: true }
    : deny("SignatureDoesNotMatch", "The request signature does not match the local credentials");
}

/**
 * One signer per credentials, region and service, made once rather than for every request (its
 * options and providers are the same each time). The check was a fifth of the emulator's CPU
 * (issue 13); most of that was the HMAC with the derived signing key, which the signer caches
 * per day (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html#derive-signing-key)
 * and which NodeSha256 now turns into a KeyObject once (functions/shared/sha256.ts).
 */
const signers = new WeakMap<LocalCredentials, Map<string, SignatureV4>>();

function signerFor(credentials: LocalCredentials, region: string, service: string): SignatureV4 {
  let byScope = signers.get(credentials);
  if (!byScope) {
    byScope = new Map();
    signers.set(credentials, byScope);
  }
  const scope = `${region}/${service}`;
  let signer = byScope.get(scope);
  if (!signer) {
    // region and service come from the request: bound what a caller can make us keep.
    if (byScope.size >= 32) byScope.clear();
    signer = new SignatureV4({
      credentials,
      region,
      service,
      sha256: NodeSha256,
      // S3 signs its path as sent; every other service signs it URI-encoded once more.
      uriEscapePath: service !== "s3",
      applyChecksum: false,
    });
    byScope.set(scope, signer);
  }
  return signer;
}

function deny(code: string, message: string): Verdict {
  return { ok: false, code, message };
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se] = m.map(Number);
  return new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, se));
}

function parseQuery(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(search)) {
    const prev = query[k];
    query[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  return query;
}

/** Reads a small body whole (to check its hash) and hands on an equal stream in its place. */
export async function readSmallBody(
  payload: Readable,
): Promise<{ body: Buffer; replay: Readable & { receivedEncodedLength: number } } | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload) {
    size += (chunk as Buffer).length;
    if (size > MAX_HASHED_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  const replay = Object.assign(Readable.from([body]), { receivedEncodedLength: body.length });
  return { body, replay };
}
