/**
 * The SMTP ingress: smtp-server with the address map's policy on MAIL/RCPT and the mailbag
 * spool on DATA. Listens on 25 in the container, anywhere (incl. port 0) in tests.
 */
import { timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerSession } from "smtp-server";
import { type AcceptDeps, acceptMessage } from "../../core/accept.ts";
import { MailbagError, PolicyRejectionError } from "../../core/errors.ts";
import { newMessageId } from "../../core/ids.ts";
import { traceIdentity } from "../../core/loop.ts";
import { receivedHeader } from "../../core/received.ts";
import { type AddressMap, acceptRecipient, submittingPostoffice } from "../../core/routing.ts";
import { describeError, log } from "../shared/log.ts";

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
}

interface SessionState {
  submitter: string | undefined;
}

export function createIngress(opts: IngressOptions): SMTPServer {
  const { map, gatewayId } = opts;
  const { maxMessageBytes, maxRecipients } = map.config.limits;
  const state = new WeakMap<SMTPServerSession, SessionState>();
  const users = submitUsers(map, opts.secrets);

  const server = new SMTPServer({
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
    onAuth(auth, _session, callback) {
      const user = users.get(auth.username ?? "");
      if (!user || !equalSecret(user.password, auth.password ?? "")) {
        return callback(
          new PolicyRejectionError(535, "5.7.8", "Authentication credentials invalid"),
        );
      }
      callback(null, { user: { username: auth.username, postoffice: user.postoffice } });
    },
    onMailFrom(address, session, callback) {
      guard(callback, () => {
        const authenticated = (session.user as { postoffice?: string } | undefined)?.postoffice;
        const submitter = submittingPostoffice(map, gatewayId, address.address, {
          address: session.remoteAddress,
          authenticatedPostoffice: authenticated,
        });
        state.set(session, { submitter });
      });
    },
    onRcptTo(address, session, callback) {
      guard(callback, () => {
        if (session.envelope.rcptTo.length >= maxRecipients) {
          throw new PolicyRejectionError(
            452,
            "4.5.3",
            `Too many recipients (at most ${maxRecipients})`,
          );
        }
        acceptRecipient(map, gatewayId, address.address, state.get(session)?.submitter);
      });
    },
    onData(stream, session, callback) {
      const id = newMessageId();
      const rcptTo = session.envelope.rcptTo.map((r) => r.address);
      const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
      const user = session.user as { username?: string } | undefined;
      const receivedAt = new Date();
      const header = receivedHeader({
        helo: session.hostNameAppearsAs ?? "",
        clientAddress: session.remoteAddress,
        tls: session.secure,
        authenticated: user !== undefined,
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
        },
      }).then(
        (envelope) => {
          log.info("accepted", {
            id,
            gateway: gatewayId,
            from: mailFrom,
            to: rcptTo,
            size: envelope.size,
          });
          callback(null, `2.0.0 queued as ${id}`);
        },
        (err: unknown) => {
          log.warn("refused", {
            gateway: gatewayId,
            from: mailFrom,
            to: rcptTo,
            ...describeError(err),
          });
          callback(err as Error);
        },
      );
    },
  });
  server.on("error", (err) => log.error("smtp-error", describeError(err)));
  return server;
}

/** Runs a policy check; a MailbagError becomes the SMTP reply, anything else a 451. */
function guard(callback: (err?: Error | null) => void, check: () => void): void {
  try {
    check();
    callback();
  } catch (err) {
    if (err instanceof MailbagError) {
      callback(err);
    } else {
      log.error("policy-error", describeError(err));
      callback(new PolicyRejectionError(451, "4.3.0", "Temporary local problem, try again later"));
    }
  }
}

function mailParams(session: SMTPServerSession): Record<string, string> {
  const args = (session.envelope.mailFrom ? session.envelope.mailFrom.args : undefined) || {};
  return Object.fromEntries(
    Object.entries(args as Record<string, unknown>)
      .filter(([, v]) => typeof v === "string")
      .map(([k, v]) => [k.toUpperCase(), v as string]),
  );
}

function submitUsers(
  map: AddressMap,
  env: NodeJS.ProcessEnv,
): Map<string, { password: string; postoffice: string }> {
  const users = new Map<string, { password: string; postoffice: string }>();
  for (const po of map.config.postoffices) {
    for (const u of po.submit.users)
      users.set(u.username, { password: env[u.passwordEnv] ?? "", postoffice: po.id });
  }
  return users;
}

function equalSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

export function listen(server: SMTPServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(port, host, () => {
      server.server.off("error", reject);
      resolve((server.server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting, lets open sessions finish their transaction (up to closeTimeout). */
export function drain(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
