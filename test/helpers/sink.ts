/**
 * A real SMTP server on 127.0.0.1:0 acting as the smart host: records each transaction's
 * envelope and raw bytes, and can be told to refuse recipients or the data, to test the
 * delivery function's failure paths.
 */
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface SunkMessage {
  readonly mailFrom: string;
  readonly rcptTo: string[];
  readonly raw: Buffer;
  /** The MAIL FROM parameters as received (keyword → value, true for a flag). */
  readonly mailArgs?: Record<string, unknown>;
  /** The RCPT TO parameters per recipient. */
  readonly rcptArgs?: Record<string, Record<string, unknown>>;
}

export interface SinkBehaviour {
  /** Return [code, text] to refuse a recipient at RCPT TO. */
  rcpt?: (address: string) => [number, string] | undefined;
  /** Return [code, text] to refuse the message after DATA. */
  data?: (msg: SunkMessage) => [number, string] | undefined;
}

export interface Sink {
  readonly port: number;
  readonly url: string;
  readonly messages: SunkMessage[];
  /** SMTP connections accepted so far. */
  readonly connections: number;
  behaviour: SinkBehaviour;
  /** Resolves once `count` messages have been received (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<SunkMessage[]>;
  close(): Promise<void>;
}

/**
 * `lmtp`: speak LMTP (RFC 2033) instead, as a postoffice's mail store does. `dsn`: offer DSN
 * (RFC 3461; smtp-server hides it by default); `hide8bitmime`, `hideSmtputf8`: do not offer them.
 */
export async function startSink(
  behaviour: SinkBehaviour = {},
  options: { lmtp?: boolean; dsn?: boolean; hide8bitmime?: boolean; hideSmtputf8?: boolean } = {},
): Promise<Sink> {
  const messages: SunkMessage[] = [];
  const sink: { behaviour: SinkBehaviour; connections: number } = { behaviour, connections: 0 };
  const refusal = (r: [number, string]) => Object.assign(new Error(r[1]), { responseCode: r[0] });
  const server = new SMTPServer({
    lmtp: options.lmtp ?? false,
    hideDSN: !options.dsn,
    hide8BITMIME: options.hide8bitmime ?? false,
    hideSMTPUTF8: options.hideSmtputf8 ?? false,
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    disableReverseLookup: true,
    logger: false,
    onConnect(_session, cb) {
      sink.connections += 1;
      cb();
    },
    onRcptTo(address, _session, cb) {
      const r = sink.behaviour.rcpt?.(address.address);
      cb(r ? refusal(r) : undefined);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const msg: SunkMessage = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          mailArgs: (session.envelope.mailFrom ? session.envelope.mailFrom.args : undefined) || {},
          rcptArgs: Object.fromEntries(
            session.envelope.rcptTo.map((r) => [
              r.address,
              (r.args || {}) as Record<string, unknown>,
            ]),
          ),
        };
        const r = sink.behaviour.data?.(msg);
        if (r) return cb(refusal(r));
        messages.push(msg);
        cb(null, "2.0.0 Ok: sunk");
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `${options.lmtp ? "lmtp" : "smtp"}://127.0.0.1:${port}`,
    messages,
    get connections() {
      return sink.connections;
    },
    get behaviour() {
      return sink.behaviour;
    },
    set behaviour(b: SinkBehaviour) {
      sink.behaviour = b;
    },
    waitFor: (count, timeoutMs = 20_000) =>
      waitUntil(
        () => messages.length >= count,
        timeoutMs,
        () => `${messages.length}/${count} messages at the sink`,
      ).then(() => messages),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Polls `ready` every 50 ms; rejects with `describe()` after `timeoutMs`. */
export async function waitUntil(
  ready: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
