/**
 * The SMTP smart host, through nodemailer's SMTPConnection: the body streamed from S3 straight
 * into DATA, over a connection kept open between messages. smtp:// uses STARTTLS when offered
 * without verifying the peer (Postfix's smtp_tls_security_level=may); smtps:// is implicit TLS
 * with verification; lmtp:// speaks LMTP (push delivery to a postoffice's mail store).
 */
import type { Readable } from "node:stream";
import SMTPConnection from "nodemailer/lib/smtp-connection";
import { BackendUnavailableError, SmartHostReplyError } from "../../core/errors.ts";
import type { SmartHostTransport, TransportResult } from "../../core/ports.ts";

interface ReplyError {
  code?: string;
  response?: string;
  responseCode?: number;
  recipient?: string;
  rejectedErrors?: ReplyError[];
  message: string;
}

/**
 * Client timeouts (ms). Their sum stays below the delivery function's timeout (aws.functions.
 * timeoutSeconds, 60 s by default; test/infra asserts it): a stalled smart host must fail the
 * attempt in the handler (a retry), not kill the invocation mid-transaction. Shorter than RFC 5321
 * §4.5.3.2's minimums, which are written for the open internet; the smart host is our own relay.
 */
export const SMTP_TIMEOUTS_MS = { connection: 10_000, greeting: 15_000, socket: 30_000 } as const;

export function smtpTransport(url: string, heloName: string): SmartHostTransport {
  const u = new URL(url);
  const secure = u.protocol === "smtps:";
  // LMTP (RFC 2033) for a postoffice's mail store: LHLO, and one reply per recipient after DATA.
  const lmtp = u.protocol === "lmtp:";
  const options = {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : secure ? 465 : lmtp ? 24 : 25,
    secure,
    lmtp,
    name: heloName,
    connectionTimeout: SMTP_TIMEOUTS_MS.connection,
    greetingTimeout: SMTP_TIMEOUTS_MS.greeting,
    socketTimeout: SMTP_TIMEOUTS_MS.socket,
    tls: { rejectUnauthorized: secure },
  };
  const auth = u.username
    ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) }
    : undefined;

  // One cached connection, reused for the next message after a successful RSET, as Postfix's
  // connection cache does: the FIFO queue sends one message at a time, so a new TCP + TLS +
  // EHLO handshake per message would bound a gateway's relay rate by the smart host's greeting.
  let idle: { conn: SMTPConnection; timer: NodeJS.Timeout } | undefined;
  const close = (conn: SMTPConnection) => {
    conn.quit();
    conn.close();
  };
  const expire = (conn: SMTPConnection) => {
    if (idle?.conn !== conn) return;
    idle = undefined;
    close(conn);
  };
  const open = async (): Promise<SMTPConnection> => {
    const cached = idle;
    idle = undefined;
    if (cached) {
      clearTimeout(cached.timer);
      const ok = await new Promise<boolean>((resolve) => cached.conn.reset((err) => resolve(!err)));
      if (ok) return cached.conn;
      close(cached.conn);
    }
    const conn = new SMTPConnection(options);
    conn.on("error", () => undefined); // reported through the pending callback
    await new Promise<void>((resolve, reject) => {
      conn.once("error", reject);
      conn.connect((err) => (err ? reject(err) : resolve()));
    });
    if (auth)
      await new Promise<void>((resolve, reject) =>
        conn.login(auth, (err) => (err ? reject(err) : resolve())),
      );
    return conn;
  };

  return {
    async send(from, to, body, size) {
      let conn: SMTPConnection | undefined;
      try {
        conn = await open();
        const c = conn;
        const info = await new Promise<{
          accepted: string[];
          rejectedErrors?: ReplyError[];
          response: string;
        }>((resolve, reject) =>
          c.send({ from: from || false, to: [...to], size }, body, (err, result) =>
            err ? reject(err) : resolve(result),
          ),
        );
        if (idle) close(idle.conn);
        idle = { conn: c, timer: setTimeout(() => expire(c), IDLE_MS).unref() };
        return {
          accepted: info.accepted,
          refused: (info.rejectedErrors ?? []).map(refusal),
          reply: info.response,
        };
      } catch (err) {
        if (conn) close(conn);
        return fromError(err as ReplyError, body);
      }
    },
  };
}

/** How long an idle smart host connection is kept (Postfix's smtp_connection_cache_time_limit is 2 s; relays allow 300 s). */
const IDLE_MS = 10_000;

function refusal(e: ReplyError): TransportResult["refused"][number] {
  return {
    address: e.recipient ?? "",
    reply: e.response ?? e.message,
    permanent: (e.responseCode ?? 451) >= 500,
  };
}

/** Every recipient refused at RCPT is a per-recipient result, not a transaction failure. */
function fromError(err: ReplyError, body: Readable): TransportResult {
  body.destroy();
  if (err.code === "EENVELOPE" && err.rejectedErrors?.length) {
    return {
      accepted: [],
      refused: err.rejectedErrors.map(refusal),
      reply: err.response ?? err.message,
    };
  }
  if (err.responseCode) {
    const text = err.response ?? err.message;
    const enhanced =
      /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\s/.exec(text)?.[1] ?? `${String(err.responseCode)[0]}.0.0`;
    throw new SmartHostReplyError(
      err.responseCode,
      enhanced,
      text.replace(/^\d{3}[ -](\d\.\d{1,3}\.\d{1,3}\s)?/, ""),
    );
  }
  throw new BackendUnavailableError(`smart host unreachable: ${err.message}`, { cause: err });
}
