/**
 * What a gateway SMTP error is: the base class every reply-carrying error extends, the type
 * guard that recognises one across bundles, and the kinds whose reply is chosen per instance
 * (by the catalogue's factories, or by a peer), and how the enhanced code of a peer's reply line is
 * read. The replies themselves — every basic and RFC 3463
 * enhanced code — are written only in core/errors.ts, the catalogue, which re-exports all of this.
 *
 * `responseCode` is the property smtp-server reads to pick the reply code of a rejected command.
 * The enhanced code is part of the message text because smtp-server only knows a fixed code per
 * basic code (550 would always become the same enhanced code) — see
 * https://www.rfc-editor.org/rfc/rfc3463.
 */
import type { ErrorCode } from "./errors.ts";

export class MailbagError extends Error {
  readonly code: ErrorCode;
  readonly responseCode: number;
  readonly enhancedCode: string;
  readonly reason: string;

  constructor(
    code: ErrorCode,
    responseCode: number,
    enhancedCode: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`${enhancedCode} ${reason}`, options);
    this.name = new.target.name;
    this.code = code;
    this.responseCode = responseCode;
    this.enhancedCode = enhancedCode;
    this.reason = reason;
  }

  /** 4xx: the sender (or the queue) should try again later. */
  get transient(): boolean {
    return this.responseCode >= 400 && this.responseCode < 500;
  }

  /** The full SMTP reply line, e.g. `550 <enhanced> Relaying denied`. */
  get reply(): string {
    return `${this.responseCode} ${this.message}`;
  }
}

/**
 * Whether `err` is a gateway SMTP error, from whichever bundle it was thrown: `instanceof` fails
 * across separately bundled copies of this module, so the guard reads the shape.
 */
export function isMailbagError(err: unknown): err is MailbagError {
  const e = err as Partial<MailbagError> | null | undefined;
  return (
    typeof e?.code === "string" &&
    typeof e.responseCode === "number" &&
    typeof e.enhancedCode === "string" &&
    typeof e.reason === "string"
  );
}

/** A recipient, sender or message the policy refuses (relaying, unknown mailbox, loops...). */
export class PolicyRejectionError extends MailbagError {}

/** A reply about the SMTP session itself: parameters, authentication, connection limits. */
export class SessionRejectionError extends MailbagError {}

/** Delivery ended with a reply from the peer; keeps the peer's own code and text. */
export class SmartHostReplyError extends MailbagError {
  constructor(responseCode: number, enhancedCode: string, reason: string) {
    super("smart-host-reply", responseCode, enhancedCode, reason);
  }
}

/** The enhanced code of a peer's reply whose text carries none: the class digit, `.0.0`. */
export function genericEnhancedCode(responseCode: number): string {
  return `${String(responseCode)[0]}.0.0`;
}

/** The enhanced code of an SMTP reply line (`550 <enhanced> ...`), or the class digit's `.0.0`. */
export function enhancedCodeOf(reply: string): string {
  const m = /^(\d)\d\d[ -](\d\.\d{1,3}\.\d{1,3})\b/.exec(reply.trim());
  if (m?.[2]) return m[2];
  const cls = /^(\d)\d\d/.exec(reply.trim())?.[1] ?? "4";
  return `${cls}.0.0`;
}
