/**
 * A stand-in for the SES API on 127.0.0.1 that checks what LocalStack does not: every request's
 * SigV4 signature (functions/local/signed-requests.ts, the embedded emulator's own check, which
 * hashes the body it received) and that the body is as long as its Content-Length. It decodes the
 * message from either API's request (v1 SendRawEmail form, v2 SendEmail JSON) and answers as SES
 * does, or with the error `answer` returns. Used by test/unit/ses-request.test.ts and
 * bench/ses-memory.ts (LocalStack's SES parses no form field over 2 MiB, so it cannot take
 * SES's largest messages).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type LocalCredentials, verifySignature } from "../../functions/local/signed-requests.ts";

export interface SesRequest {
  readonly api: "v1" | "v2";
  readonly signature: string;
  readonly contentLength: number;
  readonly received: number;
  readonly from: string | undefined;
  readonly destinations: readonly string[];
  readonly configurationSet: string | undefined;
  /** The decoded raw message. */
  readonly message: Buffer;
  /** The base64 was exactly the canonical encoding of `message` (no stray or missing byte). */
  readonly canonicalBase64: boolean;
}

export interface SesError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export interface SesStandIn {
  readonly url: string;
  readonly requests: SesRequest[];
  close(): Promise<void>;
}

export async function startSesStandIn(
  credentials: LocalCredentials,
  answer: (r: SesRequest) => SesError | undefined = () => undefined,
): Promise<SesStandIn> {
  const requests: SesRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    // Only a whole request is answered and recorded; one the client aborts is not.
    req.on("end", () => void handle(req, res, Buffer.concat(chunks)));
  });
  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer) {
    const api = req.url?.startsWith("/v2/") ? "v2" : "v1";
    const verdict = await verifySignature(
      { method: req.method ?? "", url: req.url ?? "", headers: req.headers },
      credentials,
      body,
    );
    const r: SesRequest = {
      api,
      signature: verdict.ok ? "valid" : verdict.code,
      contentLength: Number(req.headers["content-length"]),
      received: body.length,
      ...(api === "v2" ? decodeV2(body) : decodeV1(body)),
    };
    requests.push(r);
    const error: SesError | undefined = verdict.ok
      ? answer(r)
      : { status: 403, code: verdict.code, message: verdict.message };
    const id = `stand-in-${requests.length}`;
    if (api === "v2") {
      res.writeHead(error?.status ?? 200, {
        "content-type": "application/json",
        ...(error ? { "x-amzn-errortype": `${error.code}:http://internal.amazon.com/coral/` } : {}),
      });
      res.end(JSON.stringify(error ? { message: error.message } : { MessageId: id }));
      return;
    }
    res.writeHead(error?.status ?? 200, { "content-type": "text/xml" });
    res.end(
      error
        ? `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>${error.code}</Code><Message>${error.message}</Message></Error><RequestId>x</RequestId></ErrorResponse>`
        : `<SendRawEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><SendRawEmailResult><MessageId>${id}</MessageId></SendRawEmailResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></SendRawEmailResponse>`,
    );
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The message is found by position, not by parsing the whole (possibly 50 MB) body as a string. */
function decodeV1(body: Buffer) {
  const start = body.indexOf("RawMessage.Data=") + "RawMessage.Data=".length;
  const end = body.indexOf("&", start);
  const data = body.subarray(start, end < 0 ? body.length : end).toString("latin1");
  const form = new URLSearchParams(
    `${body.subarray(0, start).toString()}${end < 0 ? "" : body.subarray(end).toString()}`,
  );
  return {
    from: form.get("Source") ?? undefined,
    destinations: [...form.entries()]
      .filter(([k]) => k.startsWith("Destinations.member."))
      .map(([, v]) => v),
    configurationSet: form.get("ConfigurationSetName") ?? undefined,
    ...decodeBase64(decodeURIComponent(data)),
  };
}

function decodeV2(body: Buffer) {
  const marker = '"Content":{"Raw":{"Data":"';
  const start = body.indexOf(marker) + marker.length;
  const end = body.indexOf('"', start);
  const json = JSON.parse(
    `${body.subarray(0, start).toString()}${body.subarray(end).toString()}`,
  ) as {
    FromEmailAddress?: string;
    Destination?: { ToAddresses?: string[] };
    ConfigurationSetName?: string;
  };
  return {
    from: json.FromEmailAddress,
    destinations: json.Destination?.ToAddresses ?? [],
    configurationSet: json.ConfigurationSetName,
    ...decodeBase64(body.subarray(start, end).toString("latin1")),
  };
}

function decodeBase64(data: string) {
  const message = Buffer.from(data, "base64");
  return { message, canonicalBase64: message.toString("base64") === data };
}
