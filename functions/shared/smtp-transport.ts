/**
 * The SMTP smart host, through nodemailer's SMTPConnection: the body streamed from S3 straight
 * into DATA, over a connection kept open between messages. smtp:// uses STARTTLS when offered
 * without verifying the peer (Postfix's smtp_tls_security_level=may); smtps:// is implicit TLS
 * with verification; lmtp:// speaks LMTP (push delivery to a postoffice's mail store).
 *
 * ESMTP passthrough: the client's BODY=8BITMIME, SMTPUTF8, RET, ENVID (MAIL) and NOTIFY, ORCPT
 * (RCPT, per recipient) go to the next hop when it offers the extension (RFC 6152, 6531, 3461).
 * A message that needs SMTPUTF8 or 8BITMIME from a next hop without it is refused for good
 * (5.6.7 / 5.6.3) and so returned to its sender; without DSN we report `dsn: false`, and the
 * delivery core sends "relayed" reports itself.
 */
import type { Readable } from "node:stream";
import SMTPConnection from "nodemailer/lib/smtp-connection";
import { isAscii } from "../../core/dsn.ts";
import {
  genericEnhancedCode,
  NextHopUnreachableError,
  nextHopLacks8bitmime,
  nextHopLacksSmtputf8,
  SmartHostReplyError,
} from "../../core/errors.ts";
import type { SendOptions, SmartHostTransport, TransportResult } from "../../core/ports.ts";

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

  // One cached connection, reused for the next message, as Postfix's connection cache does: the
  // FIFO queue sends one message at a time, so a new TCP + TLS + EHLO handshake per message
  // would bound a gateway's relay rate by the smart host's greeting. A connection idle for a
  // while is first checked with RSET; one that finished its last transaction moments ago (the
  // next message of a delivery line) is not: after the reply to DATA's end the session is
  // ready for the next MAIL (RFC 5321 §4.1.1.4), and a peer that closed it meanwhile shows as
  // destroyed. nodemailer pipelines MAIL, RCPT and DATA when the peer offers PIPELINING
  // (RFC 2920), so a message costs two round trips.
  let idle: { conn: SMTPConnection; timer: NodeJS.Timeout; since: number } | undefined;
  const close = (conn: SMTPConnection) => {
    conn.quit();
    conn.close();
  };
  const expire = (conn: SMTPConnection) => {
    if (idle?.conn !== conn) return;
    idle = undefined;
    close(conn);
  };
  // The parameters of the transaction in progress, added to nodemailer's MAIL and RCPT lines.
  let current: SendOptions = {};
  const open = async (): Promise<SMTPConnection> => {
    const cached = idle;
    idle = undefined;
    if (cached) {
      clearTimeout(cached.timer);
      const fresh = Date.now() - cached.since < TRUST_IDLE_MS;
      if (fresh && !(cached.conn as unknown as { _destroyed?: boolean })._destroyed)
        return cached.conn;
      const ok = await new Promise<boolean>((resolve) => cached.conn.reset((err) => resolve(!err)));
      if (ok) return cached.conn;
      close(cached.conn);
    }
    const conn = new SMTPConnection(options);
    conn.on("error", () => undefined); // reported through the pending callback
    withParameters(conn, () => current);
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
    async send(from, to, body, size, sendOptions = {}) {
      let conn: SMTPConnection | undefined;
      try {
        conn = await open();
        const c = conn;
        const offered = extensionsOf(c);
        const params = sendOptions.params ?? {};
        const needsUtf8 = params.SMTPUTF8 !== undefined || [from, ...to].some((a) => !isAscii(a));
        const eightBit = params.BODY?.toUpperCase() === "8BITMIME";
        if (needsUtf8 && !offered.includes("SMTPUTF8")) throw nextHopLacksSmtputf8();
        if (eightBit && !offered.includes("8BITMIME")) throw nextHopLacks8bitmime();
        current = sendOptions;
        const info = await new Promise<{
          accepted: string[];
          rejectedErrors?: ReplyError[];
          response: string;
        }>((resolve, reject) =>
          c.send(
            { from: from || false, to: [...to], size, use8BitMime: eightBit },
            body,
            (err, result) => (err ? reject(err) : resolve(result)),
          ),
        );
        if (idle) close(idle.conn);
        idle = { conn: c, timer: setTimeout(() => expire(c), IDLE_MS).unref(), since: Date.now() };
        return {
          accepted: info.accepted,
          refused: (info.rejectedErrors ?? []).map(refusal),
          reply: info.response,
          remoteMta: options.host,
          dsn: offered.includes("DSN"),
        };
      } catch (err) {
        if (conn) close(conn);
        if (err instanceof SmartHostReplyError) {
          body.destroy();
          throw err;
        }
        return { ...fromError(err as ReplyError, body), remoteMta: options.host };
      } finally {
        current = {};
      }
    },
  };
}

/** How long an idle smart host connection is kept (Postfix's smtp_connection_cache_time_limit is 2 s; relays allow 300 s). */
const IDLE_MS = 10_000;
/** How long after its last transaction a kept connection is used again without an RSET first. */
const TRUST_IDLE_MS = 1_000;

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
      /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\s/.exec(text)?.[1] ?? genericEnhancedCode(err.responseCode);
    throw new SmartHostReplyError(
      err.responseCode,
      enhanced,
      text.replace(/^\d{3}[ -](\d\.\d{1,3}\.\d{1,3}\s)?/, ""),
    );
  }
  throw new NextHopUnreachableError(err.message, { cause: err });
}

/** The extensions the peer announced in its EHLO reply (nodemailer keeps them internally). */
function extensionsOf(conn: SMTPConnection): string[] {
  return (conn as unknown as { _supportedExtensions?: string[] })._supportedExtensions ?? [];
}

/**
 * nodemailer sends one set of DSN parameters for all recipients and SMTPUTF8 only for non-ASCII
 * addresses; the stored envelope has them per recipient and as the client gave them. So the
 * MAIL and RCPT command lines are completed here, for the extensions the peer offers.
 */
function withParameters(conn: SMTPConnection, params: () => SendOptions): void {
  const c = conn as unknown as { _sendCommand: (cmd: string, ...rest: unknown[]) => void };
  const send = c._sendCommand.bind(conn);
  c._sendCommand = (cmd: string, ...rest: unknown[]) => {
    const offered = extensionsOf(conn);
    const { params: mail = {}, rcptParams = {} } = params();
    const extra: string[] = [];
    if (/^MAIL FROM:/i.test(cmd)) {
      if (mail.SMTPUTF8 !== undefined && offered.includes("SMTPUTF8") && !/ SMTPUTF8\b/.test(cmd))
        extra.push("SMTPUTF8");
      if (offered.includes("DSN")) {
        if (mail.RET) extra.push(`RET=${mail.RET}`);
        if (mail.ENVID) extra.push(`ENVID=${mail.ENVID}`);
      }
    } else if (/^RCPT TO:</i.test(cmd) && offered.includes("DSN")) {
      const address = /^RCPT TO:<([^>]*)>/i.exec(cmd)?.[1] ?? "";
      const r = rcptParams[address] ?? {};
      if (r.NOTIFY) extra.push(`NOTIFY=${r.NOTIFY}`);
      if (r.ORCPT) extra.push(`ORCPT=${r.ORCPT}`);
    }
    send(extra.length > 0 ? `${cmd} ${extra.join(" ")}` : cmd, ...rest);
  };
}
