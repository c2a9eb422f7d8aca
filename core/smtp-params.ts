/**
 * MAIL and RCPT parameters (RFC 5321 §4.1.2 `Mail-parameters`, `Rcpt-parameters`). A parameter
 * of an extension the server does not advertise must be refused 555 (§4.1.1.11), and text after
 * the path that is no parameter at all is a syntax error, 501 (e.g. `RCPT TO:<a> <b>`, which
 * would otherwise silently drop `<b>`).
 */
import { sessionRejection } from "./errors.ts";

/**
 * The parameters the ingress implements, by command: the one list to extend when an extension
 * is advertised.
 * SIZE: RFC 1870; BODY: RFC 6152 (8BITMIME); SMTPUTF8: RFC 6531; AUTH: RFC 4954 §5;
 * RET, ENVID, NOTIFY, ORCPT: RFC 3461 (DSN, docs/delivery.md).
 */
export const KNOWN_PARAMETERS: Record<"MAIL" | "RCPT", readonly string[]> = {
  MAIL: ["SIZE", "BODY", "SMTPUTF8", "AUTH", "RET", "ENVID"],
  RCPT: ["NOTIFY", "ORCPT"],
};

/** RFC 5321 §4.1.2 esmtp-keyword. */
const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
/** RFC 5321 §4.1.2 esmtp-value: printable US-ASCII but "=" (UTF-8 allowed by RFC 6531). */
const VALUE = /^[!-<>-~\u0080-\uffff]+$/;

/**
 * Checks the parameters smtp-server parsed (`args`: upper-case keyword → value, or true for a
 * keyword without value). Throws the 501 or 555 reply.
 */
export function checkParameters(
  command: "MAIL" | "RCPT",
  args: Readonly<Record<string, unknown>> | false | undefined,
): void {
  for (const [keyword, value] of Object.entries(args || {})) {
    if (!KEYWORD.test(keyword)) throw sessionRejection.parameterSyntax(command, keyword);
    if (value !== true && (typeof value !== "string" || !VALUE.test(value)))
      throw sessionRejection.parameterSyntax(command, `${keyword}=${String(value)}`);
  }
  for (const keyword of Object.keys(args || {})) {
    if (!KNOWN_PARAMETERS[command].includes(keyword))
      throw sessionRejection.parameterNotRecognized(command, keyword);
  }
}
