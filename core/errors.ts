/**
 * The one error hierarchy of the gateway. Every error carries the SMTP reply it maps to
 * (basic code + RFC 3463 enhanced code), so the ingress can answer a client precisely and the
 * functions can decide between "retry later" (4xx) and "fail for good" (5xx).
 *
 * `responseCode` is the property smtp-server reads to pick the reply code of a rejected command.
 * The enhanced code is part of the message text because smtp-server only knows a fixed code per
 * basic code (550 would always become 5.1.1) — see https://www.rfc-editor.org/rfc/rfc3463.
 */
export class MailbagError extends Error {
  readonly responseCode: number;
  readonly enhancedCode: string;
  readonly reason: string;

  constructor(responseCode: number, enhancedCode: string, reason: string, options?: ErrorOptions) {
    super(`${enhancedCode} ${reason}`, options);
    this.name = new.target.name;
    this.responseCode = responseCode;
    this.enhancedCode = enhancedCode;
    this.reason = reason;
  }

  /** 4xx: the sender (or the queue) should try again later. */
  get transient(): boolean {
    return this.responseCode >= 400 && this.responseCode < 500;
  }

  /** The full SMTP reply line, e.g. `550 5.7.1 Relaying denied`. */
  get reply(): string {
    return `${this.responseCode} ${this.message}`;
  }
}

/** A backend (S3, SQS, smart host connection) failed: nothing was accepted, try again. */
export class BackendUnavailableError extends MailbagError {
  constructor(reason: string, options?: ErrorOptions) {
    super(451, "4.3.0", reason, options);
  }
}

/** RFC 1870: the message is larger than the advertised SIZE. */
export class MessageTooLargeError extends MailbagError {
  constructor(limit: number) {
    super(552, "5.3.4", `Message size exceeds fixed maximum message size (${limit} bytes)`);
  }
}

/** A recipient or sender the policy refuses (relaying, unknown mailbox, loops...). */
export class PolicyRejectionError extends MailbagError {}

/** Malformed input from a client: an address, a header, a parameter. */
export class SyntaxRejectionError extends MailbagError {
  constructor(reason: string) {
    super(501, "5.1.3", reason);
  }
}

/**
 * Invalid configuration. Not an SMTP condition: the process refuses to start (exit code 2).
 * `path` names the offending field, e.g. `postoffices[1].domain`.
 */
export class ConfigError extends MailbagError {
  readonly path: string;
  /** Every problem found, each naming its field: a config with three mistakes has three. */
  readonly issues: readonly ConfigIssue[];
  constructor(path: string, reason: string);
  constructor(issues: readonly ConfigIssue[]);
  constructor(pathOrIssues: string | readonly ConfigIssue[], reason?: string) {
    const issues =
      typeof pathOrIssues === "string"
        ? [{ path: pathOrIssues, reason: reason ?? "invalid" }]
        : pathOrIssues.length > 0
          ? pathOrIssues
          : [{ path: "(root)", reason: "invalid configuration" }];
    super(554, "5.3.5", issues.map((i) => `${i.path}: ${i.reason}`).join("\n"));
    this.path = issues[0]?.path ?? "(root)";
    this.issues = issues;
  }
}

export interface ConfigIssue {
  readonly path: string;
  readonly reason: string;
}

/** Delivery to the smart host ended with a reply; keeps the peer's own code and text. */
export class SmartHostReplyError extends MailbagError {}

/**
 * A message that looped: it came back to a gateway it already crossed, or carries more
 * Received: fields than the hop limit. RFC 3463 X.4.6 "Routing loop detected"; RFC 5321 §6.3.
 */
export class RoutingLoopError extends PolicyRejectionError {
  constructor(reason: string) {
    super(554, "5.4.6", `Routing loop detected: ${reason}`);
  }
}

/**
 * Why an object in a postoffice's outbound mailbag cannot be taken in (core/intake.ts); the
 * reply is written beside it in `rejected/`. RFC 3463: X.6.0 bad content, X.5.1 no valid
 * recipient, X.7.1 sender not authorised, X.5.3 too many recipients.
 */
export const outboundRejection = {
  notAMessage: () =>
    new PolicyRejectionError(554, "5.6.0", "Not a message: no RFC 5322 header block"),
  malformedEnvelope: (reason: string) =>
    new PolicyRejectionError(554, "5.6.0", `Malformed envelope object: ${reason}`),
  noSender: () =>
    new PolicyRejectionError(
      554,
      "5.6.0",
      "No envelope object and no single From: address to take the sender from",
    ),
  noRecipients: () =>
    new PolicyRejectionError(
      554,
      "5.5.1",
      "No recipients: no envelope object and no To:, Cc: or Bcc: address",
    ),
  tooManyRecipients: (max: number) =>
    new PolicyRejectionError(552, "5.5.3", `Too many recipients (at most ${max})`),
  foreignSender: (mailFrom: string, postoffice: string) =>
    new PolicyRejectionError(
      553,
      "5.7.1",
      `Sender address <${mailFrom}> does not belong to postoffice ${postoffice}`,
    ),
  notSentHere: (gatewayId: string, postoffice: string) =>
    new PolicyRejectionError(
      550,
      "5.7.1",
      `Gateway ${gatewayId} does not send for postoffice ${postoffice}`,
    ),
} as const;

/**
 * A reply about the SMTP session itself rather than one message: command syntax, unknown
 * parameters, authentication, connection limits: the ingress's catalogue below.
 */
export class SessionRejectionError extends MailbagError {}

export const sessionRejection = {
  /** RFC 5321 §4.1.1.11: a MAIL or RCPT parameter this server does not implement. */
  parameterNotRecognized: (command: "MAIL" | "RCPT", keyword: string) =>
    new SessionRejectionError(555, "5.5.4", `${command} parameter ${keyword} not recognized`),
  /** RFC 5321 §4.2.2 (501): text after the path that is no `keyword[=value]` parameter. */
  parameterSyntax: (command: "MAIL" | "RCPT", text: string) =>
    new SessionRejectionError(501, "5.5.4", `Syntax error in ${command} parameters near '${text}'`),
  /** RFC 4954 §6: wrong user name or password. */
  authenticationFailed: () =>
    new SessionRejectionError(535, "5.7.8", "Authentication credentials invalid"),
  /** RFC 4954 §6 454 4.7.0: too many failures from this client or for this user, for now. */
  authenticationLockedOut: (seconds: number) =>
    new SessionRejectionError(
      454,
      "4.7.0",
      `Too many failed authentication attempts, try again in ${seconds} s`,
    ),
  /** RFC 5321 §4.5.3.1.10 (452 4.5.3 per RFC 3463). */
  tooManyRecipients: (max: number) =>
    new SessionRejectionError(452, "4.5.3", `Too many recipients (at most ${max})`),
  /** An unexpected fault while checking a command: the client should try again. */
  localError: () =>
    new SessionRejectionError(451, "4.3.0", "Temporary local problem, try again later"),
  /** RFC 5321 §3.8 421: the connection is refused or ended for a limit (RFC 3463 X.7.0). */
  connectionLimit: (what: string) =>
    new SessionRejectionError(421, "4.7.0", `${what}, closing connection`),
} as const;

/**
 * The gateway cannot start as configured (a certificate that does not load, a port in use, an
 * invalid value in the environment). No SMTP condition: `mailbag` prints one line naming
 * `field` and exits with code 2.
 */
export class StartupError extends Error {
  readonly field: string;
  constructor(field: string, reason: string, options?: ErrorOptions) {
    super(`${field}: ${reason}`, options);
    this.name = "StartupError";
    this.field = field;
  }
}

// ---- Delivery (issue 9): reports, retries, ESMTP passthrough. ----

/**
 * The next hop gave no usable answer (connection refused, timeout, `421`): the whole delivery
 * line of the gateway waits and resumes in order (README "Order").
 */
export class NextHopUnreachableError extends MailbagError {
  constructor(reason: string, options?: ErrorOptions) {
    super(451, "4.4.1", `next hop unreachable: ${reason}`, options);
  }
}

/** RFC 6531 §3.4: a non-ASCII address in a transaction that did not ask for SMTPUTF8. */
export const utf8AddressNeedsSmtputf8 = (address: string): PolicyRejectionError =>
  new PolicyRejectionError(
    553,
    "5.6.7",
    `Address <${address}> is not ASCII: use MAIL FROM:<...> SMTPUTF8`,
  );

/** RFC 6531 §3.5: the next hop cannot take a message that needs SMTPUTF8; it bounces. */
export const nextHopLacksSmtputf8 = (): SmartHostReplyError =>
  new SmartHostReplyError(554, "5.6.7", "Next hop does not support SMTPUTF8 (RFC 6531)");

/**
 * RFC 6152 §3: an 8-bit body for a next hop without 8BITMIME must be converted or returned.
 * We return it (5.6.3, conversion required but not supported): converting to quoted-printable
 * would rewrite MIME structure and break signatures.
 */
export const nextHopLacks8bitmime = (): SmartHostReplyError =>
  new SmartHostReplyError(554, "5.6.3", "Next hop does not support 8BITMIME (RFC 6152)");

/** A job that failed too often, or a record that cannot be read: it goes to a dead-letter queue. */
export const deadLettered = (reason: string): MailbagError =>
  new MailbagError(554, "5.3.0", `Delivery given up (dead-letter queue): ${reason}`);

/**
 * RFC 3463 codes that appear only in delivery reports (RFC 3464 Status fields), never as a
 * reply: delivered/relayed (X.0.0 success) and the queue lifetime running out (X.4.7).
 */
export const reportStatus = {
  delivered: "2.0.0",
  relayed: "2.0.0",
  expired: "4.4.7",
} as const;

/** The enhanced code of an SMTP reply line (`550 5.1.1 ...`), or the class digit's `.0.0`. */
export function enhancedCodeOf(reply: string): string {
  const m = /^(\d)\d\d[ -](\d\.\d{1,3}\.\d{1,3})\b/.exec(reply.trim());
  if (m?.[2]) return m[2];
  const cls = /^(\d)\d\d/.exec(reply.trim())?.[1] ?? "4";
  return `${cls}.0.0`;
}
