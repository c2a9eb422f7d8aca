/**
 * The SMTP ingress: smtp-server with the address map's policy on MAIL/RCPT and the mailbag
 * spool on DATA. Listens on 25 in the container, anywhere (incl. port 0) in tests.
 *
 * Hardening (issue 11): a real certificate and TLS >= 1.2 (tls.ts), AUTH guessing defence
 * (core/auth-guard.ts), limits on connections and on a session's lifetime, RFC 5321 parameter
 * checks (core/smtp-params.ts), an RFC 3463 enhanced status code on every reply (smtp-server's
 * own ones too: `hideENHANCEDSTATUSCODES: false`, and patches/smtp-server+3.21.6.patch keeps
 * the more precise code our errors carry instead of adding a second one).
 */
import { timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerOptions,
  type SMTPServerSession,
} from "smtp-server";
import { type AcceptDeps, acceptMessage } from "../../core/accept.ts";
import type { AddressMap } from "../../core/address-map.ts";
import { AuthGuard } from "../../core/auth-guard.ts";
import type { Config } from "../../core/config.ts";
import { isAscii } from "../../core/dsn.ts";
import {
  ConfigError,
  type ConfigIssue,
  isMailbagError,
  type MailbagError,
  queuedReply,
  StartupError,
  sessionRejection,
  utf8AddressNeedsSmtputf8,
} from "../../core/errors.ts";
import { newMessageId } from "../../core/ids.ts";
import { acceptRecipient, submittingPostoffice } from "../../core/ingress-policy.ts";
import { traceIdentity } from "../../core/loop.ts";
import { receivedHeader } from "../../core/received.ts";
import { checkParameters } from "../../core/smtp-params.ts";
import { acceptedEvent, refusedEvent } from "../shared/events.ts";
import { describeError, log } from "../shared/log.ts";
import type { TlsMaterial } from "./tls.ts";

export interface IngressOptions {
  readonly map: AddressMap;
  readonly gatewayId: string;
  /** Our name in the greeting and in Received: headers. */
  readonly hostname: string;
  readonly deps: AcceptDeps;
  /** Environment holding the submit users' passwords (postoffices[].submit.users[].passwordEnv). */
  readonly secrets: NodeJS.ProcessEnv;
  /** How long close() waits for open sessions before cutting them (ms). */
  readonly closeTimeoutMs?: number;
  /** Certificate and key for STARTTLS (and implicit TLS); `server.updateSecureContext` swaps them. */
  readonly tls: TlsMaterial;
  /** Implicit TLS (RFC 8314): TLS from the first byte, no STARTTLS. */
  readonly secure?: boolean;
  /** Shared by the ingresses of one process (e.g. the STARTTLS and the implicit-TLS port). */
  readonly shared?: IngressShared;
}

/** What the listeners of one gateway share: the AUTH failure counts and the connection counts. */
export interface IngressShared {
  readonly authGuard: AuthGuard;
  readonly connections: { total: number; readonly perClient: Map<string, number> };
}

export function ingressShared(config: Config): IngressShared {
  return { authGuard: new AuthGuard(config.auth), connections: { total: 0, perClient: new Map() } };
}

interface SessionState {
  submitter: string | undefined;
}

export function createIngress(opts: IngressOptions): SMTPServer {
  const { map, gatewayId } = opts;
  const { limits } = map.config;
  const { maxMessageBytes, maxRecipients } = limits;
  const state = new WeakMap<SMTPServerSession, SessionState>();
  const users = submitUsers(map, gatewayId, opts.secrets);
  const shared = opts.shared ?? ingressShared(map.config);
  const { authGuard, connections } = shared;
  /** Sessions counted in `connections`, with their lifetime timer. */
  const open = new Map<string, NodeJS.Timeout>();

  const options: SMTPServerOptions = {
    name: opts.hostname,
    banner: "Mailbag Gateway",
    size: maxMessageBytes,
    authOptional: true,
    authMethods: ["PLAIN", "LOGIN"],
    // Reverse DNS of every client would put a network round trip before each greeting.
    disableReverseLookup: true,
    greetingDelay: map.config.limits.greetingDelayMs,
    logger: false,
    closeTimeout: opts.closeTimeoutMs ?? 30_000,
    secure: opts.secure ?? false,
    key: opts.tls.key,
    cert: opts.tls.cert,
    // RFC 8996: TLS 1.0 and 1.1 are deprecated; smtp-server's default would allow TLS 1.0.
    minVersion: map.config.tls.minVersion,
    // RFC 2034: every reply carries an enhanced status code, smtp-server's own ones too.
    hideENHANCEDSTATUSCODES: false,
    // RFC 3461: take NOTIFY, ORCPT, RET and ENVID (stored, forwarded, honoured in reports).
    hideDSN: false,
    onConnect(session, callback) {
      const client = clientAddress(session);
      const fromClient = connections.perClient.get(client) ?? 0;
      if (connections.total >= limits.maxConnections) {
        log.warn("connection-refused", { gateway: gatewayId, client, limit: "maxConnections" });
        return callback(sessionRejection.connectionLimit("Too many connections, try again later"));
      }
      if (fromClient >= limits.maxConnectionsPerClient) {
        log.warn("connection-refused", {
          gateway: gatewayId,
          client,
          limit: "maxConnectionsPerClient",
        });
        return callback(sessionRejection.connectionLimit(`Too many connections from ${client}`));
      }
      connections.total++;
      connections.perClient.set(client, fromClient + 1);
      const lifetime = setTimeout(() => endSession(session.id), limits.maxSessionSeconds * 1000);
      lifetime.unref();
      open.set(session.id, lifetime);
      callback();
    },
    onClose(session) {
      const lifetime = open.get(session.id);
      if (lifetime === undefined) return;
      clearTimeout(lifetime);
      open.delete(session.id);
      const client = clientAddress(session);
      connections.total--;
      const left = (connections.perClient.get(client) ?? 1) - 1;
      if (left > 0) connections.perClient.set(client, left);
      else connections.perClient.delete(client);
    },
    onAuth(auth, session, callback) {
      const client = clientAddress(session);
      const username = auth.username ?? "";
      const admission = authGuard.admit(client, username);
      if (admission.locked) {
        log.warn("auth-refused", {
          gateway: gatewayId,
          client,
          user: username,
          lockedOut: admission.by,
        });
        return callback(sessionRejection.authenticationLockedOut(admission.retryAfterSeconds));
      }
      // The delay comes before the answer whatever the password: a client that failed before
      // cannot learn the result early by timing.
      setTimeout(() => {
        const user = users.get(username);
        if (user && equalSecret(user.password, auth.password ?? "")) {
          authGuard.succeeded(client);
          return callback(null, { user: { username, postoffice: user.postoffice } });
        }
        const count = authGuard.failed(client, username);
        log.warn("auth-failed", { gateway: gatewayId, client, user: username, ...count });
        if (count.lockout)
          log.warn("auth-lockout", {
            gateway: gatewayId,
            client,
            user: username,
            by: count.lockout,
            seconds: map.config.auth.lockoutSeconds,
          });
        callback(sessionRejection.authenticationFailed());
      }, admission.delayMs);
    },
    onMailFrom(address, session, callback) {
      guard(
        callback,
        () => {
          checkCommand("MAIL", address, session);
          const authenticated = (session.user as { postoffice?: string } | undefined)?.postoffice;
          const submitter = submittingPostoffice(map, gatewayId, address.address, {
            address: session.remoteAddress,
            authenticatedPostoffice: authenticated,
          });
          state.set(session, { submitter });
        },
        (err) =>
          refusedEvent(gatewayId, { command: "MAIL", from: address.address }, err, describeError),
      );
    },
    onRcptTo(address, session, callback) {
      guard(
        callback,
        () => {
          checkCommand("RCPT", address, session);
          if (session.envelope.rcptTo.length >= maxRecipients)
            throw sessionRejection.tooManyRecipients(maxRecipients);
          // RFC 5321 §4.5.1: the domainless <postmaster> must be accepted; it is this gateway's
          // postmaster, i.e. postmaster at its first postoffice (aliases may route it further).
          if (/^postmaster$/i.test(address.address)) address.address = postmasterOf(map, gatewayId);
          acceptRecipient(map, gatewayId, address.address, state.get(session)?.submitter);
        },
        (err) =>
          refusedEvent(gatewayId, { command: "RCPT", to: address.address }, err, describeError),
      );
    },
    onData(stream, session, callback) {
      const id = newMessageId();
      const rcptTo = session.envelope.rcptTo.map((r) => r.address);
      const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
      // smtp-server sets `session.user` to false (not undefined) after STARTTLS without AUTH.
      const user = session.user ? (session.user as { username?: string }) : undefined;
      const receivedAt = new Date();
      const header = receivedHeader({
        helo: session.hostNameAppearsAs ?? "",
        clientAddress: session.remoteAddress,
        tls: session.secure,
        authenticated: user?.username !== undefined,
        byHost: opts.hostname,
        gateway: gatewayId,
        id,
        recipients: rcptTo,
        date: receivedAt,
      });
      acceptMessage(opts.deps, {
        data: stream,
        header,
        maxBytes: maxMessageBytes,
        loop: {
          self: traceIdentity(map.config.prefix, gatewayId),
          maxHops: map.config.limits.maxHops,
        },
        envelope: {
          id,
          gateway: gatewayId,
          mailFrom,
          rcptTo,
          client: {
            address: session.remoteAddress,
            helo: session.hostNameAppearsAs ?? "",
            tls: session.secure,
            ...(user?.username ? { user: user.username } : {}),
            ...(state.get(session)?.submitter ? { postoffice: state.get(session)?.submitter } : {}),
          },
          receivedAt: receivedAt.toISOString(),
          params: mailParams(session),
          rcptParams: rcptParams(session),
        },
      }).then(
        (envelope) => {
          acceptedEvent(gatewayId, {
            id,
            from: mailFrom,
            to: rcptTo,
            size: envelope.size,
          });
          callback(null, queuedReply(id));
        },
        (err: unknown) => {
          refusedEvent(
            gatewayId,
            { command: "DATA", from: mailFrom, to: rcptTo },
            err,
            describeError,
          );
          callback(err as Error);
        },
      );
    },
  };
  const server = new SMTPServer(options);

  /** The lifetime cap: 421 (connectionLimit) and disconnect, however busy the session is. */
  function endSession(id: string): void {
    for (const conn of server.connections) {
      const c = conn as unknown as { id: string; send(code: number, text: string): void };
      if (c.id !== id) continue;
      log.info("session-ended", { gateway: gatewayId, reason: "maxSessionSeconds" });
      const err = sessionRejection.connectionLimit("Session time limit reached");
      c.send(err.responseCode, err.message);
    }
  }

  server.on("error", (err) => {
    // A client that goes away (reset, broken pipe, a TLS handshake it abandons) is routine.
    if (isClientGone(err)) log.info("client-disconnected", describeError(err));
    // A client offering only TLS 1.0/1.1 or no common cipher: its problem, worth a warning.
    else if ((err as { code?: string }).code?.startsWith("ERR_SSL_"))
      log.warn("tls-handshake-failed", describeError(err));
    else log.error("smtp-error", describeError(err));
  });
  return server;
}

const CLIENT_GONE = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "SocketError",
  "TLSError",
  "ERR_SSL_WRONG_VERSION_NUMBER",
]);

export function isClientGone(err: Error): boolean {
  const e = err as { code?: string; report?: boolean };
  return e.report === false || (e.code !== undefined && CLIENT_GONE.has(e.code));
}

/** The client's address, IPv4-mapped IPv6 written as IPv4, so one client counts as one. */
function clientAddress(session: SMTPServerSession): string {
  return (session.remoteAddress ?? "").replace(/^::ffff:(?=\d+\.)/, "");
}

function postmasterOf(map: AddressMap, gatewayId: string): string {
  const gw = map.config.gateways.find((g) => g.id === gatewayId);
  const po = map.config.postoffices.find((p) => p.id === gw?.postoffices[0]);
  return po ? `postmaster@${po.domain}` : "postmaster";
}

/** Runs a policy check; a MailbagError becomes the SMTP reply, anything else a 451. */
function guard(
  callback: (err?: Error | null) => void,
  check: () => void,
  refused?: (err: MailbagError) => void,
): void {
  try {
    check();
    callback();
  } catch (err) {
    if (isMailbagError(err)) {
      refused?.(err);
      callback(err);
    } else {
      log.error("policy-error", describeError(err));
      callback(sessionRejection.localError());
    }
  }
}

/**
 * What MAIL and RCPT both check first: the parameters (core/smtp-params.ts), then RFC 6531 §3.4,
 * a non-ASCII address only in a transaction that said SMTPUTF8.
 */
function checkCommand(
  command: "MAIL" | "RCPT",
  address: SMTPServerAddress,
  session: SMTPServerSession,
): void {
  checkParameters(command, address.args as Record<string, unknown> | false);
  if (!isAscii(address.address) && !session.envelope.smtpUtf8) {
    throw utf8AddressNeedsSmtputf8(address.address);
  }
}

/** MAIL FROM parameters worth keeping: BODY, SMTPUTF8 (a flag: stored as ""), RET, ENVID. */
function mailParams(session: SMTPServerSession): Record<string, string> {
  const args = (session.envelope.mailFrom ? session.envelope.mailFrom.args : undefined) || {};
  const params: Record<string, string> = Object.fromEntries(
    Object.entries(args as Record<string, unknown>)
      .filter(([, v]) => typeof v === "string")
      .map(([k, v]) => [k.toUpperCase(), v as string]),
  );
  if (session.envelope.smtpUtf8) params.SMTPUTF8 = "";
  return params;
}

/** RCPT TO parameters per recipient: RFC 3461 NOTIFY and ORCPT. */
function rcptParams(session: SMTPServerSession): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const r of session.envelope.rcptTo) {
    const args = (r.args || {}) as Record<string, unknown>;
    const kept: Record<string, string> = {};
    for (const [k, v] of Object.entries(args)) {
      const key = k.toUpperCase();
      if ((key === "NOTIFY" || key === "ORCPT") && typeof v === "string") kept[key] = v;
    }
    if (Object.keys(kept).length > 0) out[r.address] = kept;
  }
  return out;
}

/**
 * The submit users' passwords, resolved here and nowhere else: the only process that
 * authenticates SMTP clients. The users of the postoffices this gateway sends for must have
 * their variable set (or the ingress refuses to start, naming the field); other postoffices'
 * users can log in only where their variable happens to be set (one `mailbag start` running
 * every gateway): a user without one is not added, so no stand-in password exists; a variable
 * set to the empty string never matches (equalSecret).
 */
function submitUsers(
  map: AddressMap,
  gatewayId: string,
  env: NodeJS.ProcessEnv,
): Map<string, { password: string; postoffice: string }> {
  const users = new Map<string, { password: string; postoffice: string }>();
  const missing: ConfigIssue[] = [];
  map.config.postoffices.forEach((po, i) => {
    const own = map.senderOf.get(po.id)?.id === gatewayId;
    po.submit.users.forEach((u, j) => {
      const password = env[u.passwordEnv];
      if (password !== undefined) users.set(u.username, { password, postoffice: po.id });
      else if (own)
        missing.push({
          path: `postoffices[${i}].submit.users[${j}].passwordEnv`,
          reason: `environment variable ${u.passwordEnv} is not set`,
        });
    });
  });
  if (missing.length > 0) throw new ConfigError(missing);
  return users;
}

function equalSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/**
 * `reusePort`: SO_REUSEPORT, so several ingress processes on one host share the port and the
 * kernel spreads connections over them, as the load balancer spreads them over ingress tasks on
 * AWS; one Node process uses one core (Linux; https://nodejs.org/api/net.html#serverlistenoptions-callback).
 */
export function listen(
  server: SMTPServer,
  port: number,
  host: string,
  reusePort = false,
): Promise<number> {
  return new Promise((resolve, reject) => {
    // EADDRINUSE, EACCES...: one line naming the port, not a stack (cli/mailbag.ts, exit 2).
    const failed = (err: NodeJS.ErrnoException) =>
      reject(
        new StartupError(`SMTP port ${host}:${port}`, err.code ?? err.message, { cause: err }),
      );
    server.server.once("error", failed);
    server.server.listen({ port, host, reusePort }, () => {
      server.server.off("error", failed);
      resolve((server.server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting, lets open sessions finish their transaction (up to closeTimeout). */
export function drain(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
