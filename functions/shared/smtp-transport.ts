/**
 * The SMTP smart host, through nodemailer's SMTPConnection: one connection per message, the body
 * streamed from S3 straight into DATA. smtp:// uses STARTTLS when offered without verifying the
 * peer (Postfix's smtp_tls_security_level=may); smtps:// is implicit TLS with verification.
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

export function smtpTransport(url: string, heloName: string): SmartHostTransport {
  const u = new URL(url);
  const secure = u.protocol === "smtps:";
  const options = {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : secure ? 465 : 25,
    secure,
    name: heloName,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 120_000,
    tls: { rejectUnauthorized: secure },
  };
  const auth = u.username
    ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) }
    : undefined;

  return {
    async send(from, to, body, size) {
      const conn = new SMTPConnection(options);
      try {
        await new Promise<void>((resolve, reject) => {
          conn.once("error", reject);
          conn.connect((err) => (err ? reject(err) : resolve()));
        });
        if (auth)
          await new Promise<void>((resolve, reject) =>
            conn.login(auth, (err) => (err ? reject(err) : resolve())),
          );
        const info = await new Promise<{
          accepted: string[];
          rejectedErrors?: ReplyError[];
          response: string;
        }>((resolve, reject) =>
          conn.send({ from: from || false, to: [...to], size }, body, (err, result) =>
            err ? reject(err) : resolve(result),
          ),
        );
        return {
          accepted: info.accepted,
          refused: (info.rejectedErrors ?? []).map(refusal),
          reply: info.response,
        };
      } catch (err) {
        return fromError(err as ReplyError, body);
      } finally {
        conn.quit();
        conn.close();
      }
    },
  };
}

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
