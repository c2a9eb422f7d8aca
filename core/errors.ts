/**
 * The error catalogue of the gateway: every reply the gateway gives (one table), the error
 * classes whose reply is fixed, and one named factory per reply. Nowhere else in core/,
 * functions/, cli/ or infra/ is an RFC 3463 enhanced status code written out
 * (test/unit/errors.test.ts scans the tree), so a reply is changed here or nowhere.
 *
 * Every SMTP error carries the reply it maps to (basic code + enhanced code), so the ingress can
 * answer a client precisely and the functions can decide between "retry later" (4xx) and "fail
 * for good" (5xx); and a stable `code` string, so callers tell errors apart without `instanceof`
 * (which fails across separately bundled copies of this module) or `err.name`.
 *
 * Import every error from here. The base class and its guard live in core/smtp-error.ts; the
 * errors that stop the gateway from starting (no SMTP condition) in core/config-error.ts.
 */
import {
  MailbagError,
  PolicyRejectionError,
  SessionRejectionError,
  SmartHostReplyError,
} from "./smtp-error.ts";

export {
  ConfigError,
  type ConfigIssue,
  formatPath,
  isConfigError,
  StartupError,
} from "./config-error.ts";
export {
  enhancedCodeOf,
  genericEnhancedCode,
  isMailbagError,
  MailbagError,
  PolicyRejectionError,
  SessionRejectionError,
  SmartHostReplyError,
} from "./smtp-error.ts";

/**
 * Every reply the gateway gives, by basic reply code (so its class, 4xx retry or 5xx fail, reads
 * off its group), then by the stable code callers compare: its RFC 3463 enhanced code. The only
 * place either is written (SmartHostReplyError aside, which keeps the peer's own).
 */
const REPLIES_BY_BASIC_CODE = {
  421: { "connection-limit": "4.7.0" }, // RFC 5321 §3.8
  451: {
    "backend-unavailable": "4.3.0",
    "delivery-deferred": "4.4.0",
    "local-error": "4.3.0",
    "next-hop-unreachable": "4.4.1",
    "no-answer": "4.4.1",
    "unknown-gateway": "4.3.0",
  },
  452: { "too-many-recipients": "4.5.3" }, // RFC 5321 §4.5.3.1.10
  454: { "auth-locked-out": "4.7.0" }, // RFC 4954 §6
  501: {
    "address-syntax": "5.1.3",
    "parameter-syntax": "5.5.4", // RFC 5321 §4.2.2
  },
  535: { "auth-failed": "5.7.8" }, // RFC 4954 §6
  550: {
    "no-receiving-gateway": "5.1.2",
    "no-such-mailbox": "5.1.1",
    "not-sent-here": "5.7.1",
    "relaying-denied": "5.7.1", // RFC 5321 §3.9
  },
  552: {
    "message-too-large": "5.3.4", // RFC 1870
    "outbound-too-many-recipients": "5.5.3",
  },
  553: {
    "bad-mailbox-name": "5.1.3",
    "foreign-sender": "5.7.1",
    "sender-not-owned": "5.7.1",
    "utf8-needs-smtputf8": "5.6.7", // RFC 6531 §3.4
  },
  554: {
    "dead-lettered": "5.3.0",
    "malformed-envelope": "5.6.0",
    "malformed-record": "5.6.0",
    "message-gone": "5.3.0",
    "next-hop-lacks-8bitmime": "5.6.3", // RFC 6152 §3
    "next-hop-lacks-smtputf8": "5.6.7", // RFC 6531 §3.5
    "no-recipients": "5.5.1",
    "no-sender": "5.6.0",
    "not-a-message": "5.6.0",
    "routing-loop": "5.4.6", // RFC 5321 §6.3
    "smart-host-refused": "5.7.1",
  },
  555: { "parameter-not-recognized": "5.5.4" }, // RFC 5321 §4.1.1.11
} as const satisfies Record<number, Record<string, string>>;

type Catalogue = typeof REPLIES_BY_BASIC_CODE;
type CatalogueCode = { [B in keyof Catalogue]: keyof Catalogue[B] }[keyof Catalogue];

/** Stable code → [basic, enhanced]. */
const REPLIES = Object.fromEntries(
  Object.entries(REPLIES_BY_BASIC_CODE).flatMap(([basic, replies]) =>
    Object.entries(replies).map(([code, enhanced]) => [code, [Number(basic), enhanced] as const]),
  ),
) as Record<CatalogueCode, readonly [number, string]>;

/** The stable identity of each error: what callers compare, what logs print. */
export type ErrorCode = CatalogueCode | "smart-host-reply";

/** The catalogue's reply for `code`, as constructor arguments of any MailbagError class. */
const at = (code: CatalogueCode): [CatalogueCode, number, string] => [code, ...REPLIES[code]];

/** A backend (S3, SQS, smart host connection) failed: nothing was accepted, try again. */
export class BackendUnavailableError extends MailbagError {
  constructor(reason: string, options?: ErrorOptions) {
    super(...at("backend-unavailable"), reason, options);
  }
}

/** RFC 1870: the message is larger than the advertised SIZE. */
export class MessageTooLargeError extends MailbagError {
  constructor(limit: number) {
    const reason = `Message size exceeds fixed maximum message size (${limit} bytes)`;
    super(...at("message-too-large"), reason);
  }
}

/** Malformed input from a client: an address, a header, a parameter. */
export class SyntaxRejectionError extends MailbagError {
  constructor(reason: string) {
    super(...at("address-syntax"), reason);
  }
}

/** An address that does not parse; `reason` is precise enough to fix it. */
export class AddressError extends SyntaxRejectionError {
  readonly input: string;
  constructor(input: string, reason: string) {
    super(`Invalid address <${input}>: ${reason}`);
    this.input = input;
  }
}

/**
 * A message that looped: it came back to a gateway it already crossed, or carries more
 * Received: fields than the hop limit. RFC 3463 X.4.6 "Routing loop detected"; RFC 5321 §6.3.
 */
export class RoutingLoopError extends PolicyRejectionError {
  constructor(reason: string) {
    super(...at("routing-loop"), `Routing loop detected: ${reason}`);
  }
}

/** Some recipients could not be delivered yet: the job must be retried. */
export class DeliveryDeferredError extends MailbagError {
  constructor(id: string, recipients: readonly string[], reply: string) {
    const reason = `message ${id}: ${recipients.length} recipient(s) deferred: ${reply}`;
    super(...at("delivery-deferred"), reason);
  }
}

/** A record in the mailbag or on a queue that does not have the shape we wrote. */
export class MalformedRecordError extends MailbagError {
  constructor(what: string, path: string, reason: string) {
    super(...at("malformed-record"), `malformed ${what}: ${path || "(root)"}: ${reason}`);
  }
}

/**
 * A message's body is no longer in the mailbag: its attempt was refused by the ingress after its
 * job was queued, or the administrator deleted it (`mailbag delete`). Nothing is left to deliver.
 */
export class MessageGoneError extends MailbagError {
  constructor(key: string, options?: ErrorOptions) {
    super(...at("message-gone"), `no longer in the mailbag: ${key}`, options);
  }
}

/**
 * The next hop gave no usable answer (connection refused, timeout, `421`): the whole delivery
 * line of the gateway waits and resumes in order (README "Order").
 */
export class NextHopUnreachableError extends MailbagError {
  constructor(reason: string, options?: ErrorOptions) {
    super(...at("next-hop-unreachable"), `next hop unreachable: ${reason}`, options);
  }
}

// ---- The catalogue: one factory per reply. ----

const policy = (code: CatalogueCode, reason: string) =>
  new PolicyRejectionError(...at(code), reason);
const session = (code: CatalogueCode, reason: string) =>
  new SessionRejectionError(...at(code), reason);

/** No open relay (as Postfix's reject_unauth_destination). */
export const relayingDenied = (address: string, why?: string) =>
  policy("relaying-denied", `Relaying denied for <${address}>${why ? `: ${why}` : ""}`);
/** A mailbox the postoffice does not have (or a postoffice that takes no SMTP mail). */
export const noSuchMailbox = (reason: string) => policy("no-such-mailbox", reason);
/** A local part that is no mailbox name of the postoffice (bad destination mailbox syntax). */
export const badMailboxName = (reason: string) => policy("bad-mailbox-name", reason);
/** A postoffice domain no gateway receives for: the destination system is unknown. */
export const noReceivingGateway = (reason: string) => policy("no-receiving-gateway", reason);
/** An authenticated client using another postoffice's sender address. */
export const senderNotOwned = (mailFrom: string) =>
  policy("sender-not-owned", `Sender address <${mailFrom}> not owned by authenticated user`);
export const routingLoop = (reason: string) => new RoutingLoopError(reason);
/** More recipients than the limit; the client sends the rest in another transaction. */
export const tooManyRecipients = (max: number) =>
  session("too-many-recipients", `Too many recipients (at most ${max})`);
/** Wrong user name or password. */
export const authFailed = () => session("auth-failed", "Authentication credentials invalid");
/** An internal fault: the client is told to try again, the cause goes to the log. */
export const localError = (options?: ErrorOptions) =>
  new SessionRejectionError(
    ...at("local-error"),
    "Temporary local problem, try again later",
    options,
  );
/** A gateway id the address map does not know: a deployment fault, so retried. */
export const unknownGateway = (id: string) =>
  new MailbagError(...at("unknown-gateway"), `unknown gateway ${id}`);
export const messageTooLarge = (limit: number) => new MessageTooLargeError(limit);
/** A refusal of the peer's made here (it lacks what the message needs), as if it replied so. */
const peerRefusal = (code: CatalogueCode, reason: string) =>
  new SmartHostReplyError(REPLIES[code][0], REPLIES[code][1], reason);
/** A smart host refused the message for good for a reason of its own (e.g. SES rejects it). */
export const smartHostRefused = (reason: string) => peerRefusal("smart-host-refused", reason);
/** The message is larger than the next hop takes (SES's API limits): bounced, 552 5.3.4. */
export const nextHopTooLarge = (reason: string) => peerRefusal("message-too-large", reason);
/** No reply at all from the peer (connection refused, reset, timed out): retried. */
export const noAnswer = (reason: string, options?: ErrorOptions) =>
  new MailbagError(...at("no-answer"), reason, options);

/**
 * Why an object in a postoffice's outbound mailbag cannot be taken in (core/intake.ts); the
 * reply is written beside it in `rejected/`. RFC 3463: X.6.0 bad content, X.5.1 no valid
 * recipient, X.7.1 sender not authorised, X.5.3 too many recipients.
 */
export const outboundRejection = {
  notAMessage: () => policy("not-a-message", "Not a message: no RFC 5322 header block"),
  malformedEnvelope: (reason: string) =>
    policy("malformed-envelope", `Malformed envelope object: ${reason}`),
  noSender: () =>
    policy("no-sender", "No envelope object and no single From: address to take the sender from"),
  noRecipients: () =>
    policy("no-recipients", "No recipients: no envelope object and no To:, Cc: or Bcc: address"),
  tooManyRecipients: (max: number) =>
    policy("outbound-too-many-recipients", `Too many recipients (at most ${max})`),
  foreignSender: (mailFrom: string, postoffice: string) =>
    policy(
      "foreign-sender",
      `Sender address <${mailFrom}> does not belong to postoffice ${postoffice}`,
    ),
  notSentHere: (gatewayId: string, postoffice: string) =>
    policy("not-sent-here", `Gateway ${gatewayId} does not send for postoffice ${postoffice}`),
} as const;

/** The ingress's replies about the session (functions/ingress/server.ts). */
export const sessionRejection = {
  /** A MAIL or RCPT parameter this server does not implement. */
  parameterNotRecognized: (command: "MAIL" | "RCPT", keyword: string) =>
    session("parameter-not-recognized", `${command} parameter ${keyword} not recognized`),
  /** Text after the path that is no `keyword[=value]` parameter. */
  parameterSyntax: (command: "MAIL" | "RCPT", text: string) =>
    session("parameter-syntax", `Syntax error in ${command} parameters near '${text}'`),
  authenticationFailed: authFailed,
  /** Too many failures from this client or for this user, for now. */
  authenticationLockedOut: (seconds: number) =>
    session(
      "auth-locked-out",
      `Too many failed authentication attempts, try again in ${seconds} s`,
    ),
  tooManyRecipients,
  localError,
  /** The connection is refused or ended for a limit (RFC 3463 X.7.0). */
  connectionLimit: (what: string) => session("connection-limit", `${what}, closing connection`),
} as const;

/** A positive reply line from a peer that gives no text of its own, e.g. SES's API. */
export const okReply = (text: string): string => `250 2.0.0 ${text}`;

/** The text of the final reply to DATA (smtp-server adds the 250). */
export const queuedReply = (id: string): string => `2.0.0 queued as ${id}`;

/** RFC 6531 §3.4: a non-ASCII address in a transaction that did not ask for SMTPUTF8. */
export const utf8AddressNeedsSmtputf8 = (address: string) =>
  policy("utf8-needs-smtputf8", `Address <${address}> is not ASCII: use MAIL FROM:<...> SMTPUTF8`);

/** RFC 6531 §3.5: the next hop cannot take a message that needs SMTPUTF8; it bounces. */
export const nextHopLacksSmtputf8 = () =>
  peerRefusal("next-hop-lacks-smtputf8", "Next hop does not support SMTPUTF8 (RFC 6531)");

/**
 * RFC 6152 §3: an 8-bit body for a next hop without 8BITMIME must be converted or returned.
 * We return it (X.6.3, conversion required but not supported): converting to quoted-printable
 * would rewrite MIME structure and break signatures.
 */
export const nextHopLacks8bitmime = () =>
  peerRefusal("next-hop-lacks-8bitmime", "Next hop does not support 8BITMIME (RFC 6152)");

/** A job that failed too often, or a record that cannot be read: it goes to a dead-letter queue. */
export const deadLettered = (reason: string) =>
  new MailbagError(...at("dead-lettered"), `Delivery given up (dead-letter queue): ${reason}`);

/**
 * RFC 3463 codes that appear only in delivery reports (RFC 3464 Status fields), never as a
 * reply: delivered/relayed (X.0.0 success) and the queue lifetime running out (X.4.7).
 */
export const reportStatus = {
  delivered: "2.0.0",
  relayed: "2.0.0",
  expired: "4.4.7",
} as const;
