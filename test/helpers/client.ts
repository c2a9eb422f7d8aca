/** A real SMTP client (nodemailer's SMTPConnection) for tests: raw bytes in, the server's reply out. */
import { connect } from "node:net";
import type { Readable } from "node:stream";
import SMTPConnection from "nodemailer/lib/smtp-connection";

export interface SendOptions {
  readonly port: number;
  readonly from: string;
  readonly to: string | string[];
  readonly raw: Buffer | string | Readable;
  readonly auth?: { user: string; pass: string };
  /** Upgrade with STARTTLS (the ingress's self-signed certificate is accepted). */
  readonly starttls?: boolean;
  readonly size?: number;
}

export interface Reply {
  readonly ok: boolean;
  /** The full reply line, e.g. `250 2.0.0 queued as 01...` or `550 5.7.1 Relaying denied ...`. */
  readonly reply: string;
  readonly code: number;
  /** The queue id from `queued as <id>`, when accepted. */
  readonly id?: string;
}

export async function send(opts: SendOptions): Promise<Reply> {
  const conn = new SMTPConnection({
    host: "127.0.0.1",
    port: opts.port,
    secure: false,
    ignoreTLS: !opts.starttls,
    requireTLS: opts.starttls ?? false,
    tls: { rejectUnauthorized: false },
    name: "client.test",
    socketTimeout: 60_000,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      conn.once("error", reject);
      conn.connect((err) => (err ? reject(err) : resolve()));
    });
    if (opts.auth) {
      const auth = opts.auth;
      await new Promise<void>((resolve, reject) =>
        conn.login(auth, (err) => (err ? reject(err) : resolve())),
      );
    }
    const info = await new Promise<{ response: string }>((resolve, reject) =>
      conn.send(
        { from: opts.from || false, to: opts.to, ...(opts.size ? { size: opts.size } : {}) },
        opts.raw,
        (err, result) => (err ? reject(err) : resolve(result)),
      ),
    );
    const id = /queued as (\S+)/.exec(info.response)?.[1];
    return {
      ok: true,
      reply: info.response,
      code: Number(info.response.slice(0, 3)),
      ...(id ? { id } : {}),
    };
  } catch (err) {
    const e = err as {
      response?: string;
      responseCode?: number;
      message: string;
      rejectedErrors?: { response?: string }[];
    };
    const reply = e.rejectedErrors?.[0]?.response ?? e.response ?? e.message;
    return { ok: false, reply, code: e.responseCode ?? Number(reply.slice(0, 3)) ?? 0 };
  } finally {
    conn.quit();
    conn.close();
  }
}

/**
 * A raw SMTP dialog over a plain socket: sends each command after the previous reply and
 * returns every reply (multi-line replies joined by "\n"). For EHLO contents and malformed input.
 */
export async function dialog(port: number, commands: readonly string[]): Promise<string[]> {
  const socket = connect(port, "127.0.0.1");
  socket.setEncoding("utf8");
  let buffer = "";
  const waiters: ((reply: string) => void)[] = [];
  const replies: string[] = [];
  socket.on("data", (data: string) => {
    buffer += data;
    for (;;) {
      const end = /^\d{3} [^\r\n]*\r\n/m.exec(buffer);
      if (!end) break;
      const reply = buffer
        .slice(0, end.index + end[0].length)
        .trimEnd()
        .replace(/\r\n/g, "\n");
      buffer = buffer.slice(end.index + end[0].length);
      const waiter = waiters.shift();
      if (waiter) waiter(reply);
      else replies.push(reply);
    }
  });
  const next = () =>
    new Promise<string>((resolve) =>
      replies.length ? resolve(replies.shift() ?? "") : waiters.push(resolve),
    );
  try {
    const out = [await next()];
    for (const command of commands) {
      socket.write(`${command}\r\n`);
      out.push(await next());
    }
    return out;
  } finally {
    socket.destroy();
  }
}

/** Several messages over one connection, in order (RSET between): the acceptance order is the reply order. */
export async function sendMany(
  port: number,
  messages: readonly Omit<SendOptions, "port">[],
): Promise<Reply[]> {
  const conn = new SMTPConnection({
    host: "127.0.0.1",
    port,
    ignoreTLS: true,
    name: "client.test",
    socketTimeout: 60_000,
  });
  const replies: Reply[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      conn.once("error", reject);
      conn.connect((err) => (err ? reject(err) : resolve()));
    });
    for (const m of messages) {
      const info = await new Promise<{ response: string }>((resolve, reject) =>
        conn.send({ from: m.from || false, to: m.to }, m.raw, (err, result) =>
          err ? reject(err) : resolve(result),
        ),
      );
      const id = /queued as (\S+)/.exec(info.response)?.[1];
      replies.push({ ok: true, reply: info.response, code: 250, ...(id ? { id } : {}) });
      await new Promise<void>((resolve, reject) =>
        conn.reset((err) => (err ? reject(err) : resolve())),
      );
    }
    return replies;
  } finally {
    conn.quit();
    conn.close();
  }
}
