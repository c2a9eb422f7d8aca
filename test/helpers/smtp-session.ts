/**
 * A raw SMTP session over a real socket, one reply at a time, with what the nodemailer client
 * cannot do: bind a chosen local address (127.0.0.x: another client), write several commands in
 * one packet, STARTTLS with a verifying TLS client, implicit TLS.
 */
import { type Socket, connect as tcpConnect } from "node:net";
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from "node:tls";

export class SmtpSession {
  private socket: Socket;
  private buffer = "";
  private readonly replies: string[] = [];
  private readonly waiters: ((reply: string | undefined) => void)[] = [];
  private ended = false;
  /** Resolves when the server closed the connection. */
  readonly closed: Promise<void>;
  private markClosed: () => void = () => {};

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    this.attach(socket);
  }

  static async open(
    port: number,
    opts: { localAddress?: string; implicitTls?: ConnectionOptions } = {},
  ): Promise<SmtpSession> {
    const socket = opts.implicitTls
      ? tlsConnect({ port, host: "127.0.0.1", ...opts.implicitTls })
      : tcpConnect({
          port,
          host: "127.0.0.1",
          ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.implicitTls ? "secureConnect" : "connect", () => resolve());
      socket.once("error", reject);
    });
    return new SmtpSession(socket);
  }

  get tlsSocket(): TLSSocket {
    return this.socket as TLSSocket;
  }

  private attach(socket: Socket): void {
    socket.on("data", (d: Buffer) => {
      this.buffer += d.toString("utf8");
      for (;;) {
        const end = /^\d{3} [^\r\n]*\r\n/m.exec(this.buffer);
        if (!end) break;
        const reply = this.buffer
          .slice(0, end.index + end[0].length)
          .trimEnd()
          .replace(/\r\n/g, "\n");
        this.buffer = this.buffer.slice(end.index + end[0].length);
        const waiter = this.waiters.shift();
        if (waiter) waiter(reply);
        else this.replies.push(reply);
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w(undefined);
      this.markClosed();
    });
  }

  /** The next reply, or undefined once the server closed the connection. */
  reply(): Promise<string | undefined> {
    const ready = this.replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Writes `text` as it is (several commands in one packet, say). */
  write(text: string): void {
    this.socket.write(text);
  }

  async command(line: string): Promise<string | undefined> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  /** STARTTLS, then a TLS handshake with `tls` (verifying unless told otherwise). */
  async starttls(tls: ConnectionOptions): Promise<TLSSocket> {
    const ok = await this.command("STARTTLS");
    if (!ok?.startsWith("220")) throw new Error(`STARTTLS refused: ${ok}`);
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    const secure = tlsConnect({ socket: plain, ...tls });
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", () => resolve());
      secure.once("error", reject);
    });
    this.socket = secure;
    this.attach(secure);
    return secure;
  }

  close(): void {
    this.socket.destroy();
  }
}
