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
  constructor(path: string, reason: string) {
    super(554, "5.3.5", `${path}: ${reason}`);
    this.path = path;
  }
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
