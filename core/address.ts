/**
 * Addresses, both ways: SMTP `mailbox@domain` (RFC 5321 §4.1.2, parsed by smtp-address-parser)
 * and MS Mail native `NETWORK/PO/MAILBOX`, plus native one-offs `[SMTP:user@host]` for
 * everything outside the address map. Rules (docs/routing.md#addresses):
 *
 * - Network, postoffice and mailbox names: 1-10 letters, digits, `-` or `_`, starting with a
 *   letter or digit; case-insensitive, written upper-case in native form (MS Mail names).
 * - The SMTP form of a native mailbox is its name lower-case at its postoffice's domain.
 * - Domains compare case-insensitively (RFC 5321 §2.4) and are kept lower-case. Local parts are
 *   kept as written, except in postoffice domains, where they name MS Mail mailboxes and so are
 *   case-insensitive.
 *
 * Every invalid form is an AddressError whose reason says what is wrong and where.
 */
import { parse as parseRfc5321 } from "smtp-address-parser";
import { AddressError } from "./errors.ts";

/** MS Mail network, postoffice and mailbox names (seed Q87030: "up to 10 characters"). */
export const MS_MAIL_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,9}$/;
export const MS_MAIL_NAME_RULE =
  "1-10 letters, digits, '-' or '_', starting with a letter or digit";

/** RFC 5321 §4.5.3.1.1-3: local part 64 octets, domain 255 octets, path 256 octets. */
const MAX_LOCAL = 64;
const MAX_DOMAIN = 255;
const MAX_PATH = 256;

export interface SmtpAddress {
  readonly kind: "smtp";
  /** As written, quotes and escapes removed (`"a b"@x` → `a b`). */
  readonly local: string;
  /** Lower-case; an address literal keeps its brackets, e.g. `[192.0.2.1]`. */
  readonly domain: string;
  /** The local part needed quoting (RFC 5321 Quoted-string). */
  readonly quoted: boolean;
}

export interface NativeAddress {
  readonly kind: "native";
  readonly network: string;
  readonly postoffice: string;
  readonly mailbox: string;
}

/** MS Mail's one-off address: an SMTP address typed in native form. */
export interface OneOffAddress {
  readonly kind: "oneoff";
  readonly smtp: SmtpAddress;
}

export type AnyAddress = SmtpAddress | NativeAddress | OneOffAddress;

/**
 * The common case, decided without the grammar: an ASCII Dot-string local part at a domain of
 * LDH labels whose last label starts with a letter and has two or more characters (RFC 5321
 * §4.1.2; the parser's own domain checks). Every address it matches, smtp-address-parser
 * accepts with the same parts (test/unit/address.test.ts checks that on generated addresses);
 * anything else (quoted, UTF-8, address literals, …) goes to the parser. The parser (nearley)
 * took ~160 µs per address, a few per message (issue 13). Lengths are checked before.
 */
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";
const PLAIN_MAILBOX = new RegExp(
  `^(${ATEXT}(?:\\.${ATEXT})*)@((?:${LABEL}\\.)+[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9])$`,
);

/** Parses an RFC 5321 Mailbox (the content of `<...>` in MAIL FROM / RCPT TO). */
export function parseSmtpAddress(input: string): SmtpAddress {
  if (input.length === 0) throw new AddressError(input, "empty address");
  const at = input.lastIndexOf("@");
  if (at < 0) throw new AddressError(input, "no '@': expected local-part@domain");
  if (at === 0) throw new AddressError(input, "empty local part before '@'");
  if (at === input.length - 1) throw new AddressError(input, "empty domain after '@'");
  const octets = Buffer.byteLength(input, "utf8");
  if (octets > MAX_PATH - 2)
    throw new AddressError(input, `${octets} octets, more than RFC 5321 allows (254)`);
  const localOctets = Buffer.byteLength(input.slice(0, at), "utf8");
  if (localOctets > MAX_LOCAL)
    throw new AddressError(input, `local part is ${localOctets} octets (at most ${MAX_LOCAL})`);
  if (Buffer.byteLength(input.slice(at + 1), "utf8") > MAX_DOMAIN)
    throw new AddressError(input, `domain is longer than ${MAX_DOMAIN} octets`);
  const plain = PLAIN_MAILBOX.exec(input);
  const { local, domain, quoted } = plain
    ? { local: plain[1] ?? "", domain: (plain[2] ?? "").toLowerCase(), quoted: false }
    : byGrammar(input);
  for (const label of domain.startsWith("[") ? [] : domain.split(".")) {
    if (label.length > 63)
      throw new AddressError(input, `domain label '${label}' exceeds 63 octets`);
  }
  return { kind: "smtp", local, domain, quoted };
}

function byGrammar(input: string): Omit<SmtpAddress, "kind"> {
  let tree: {
    localPart: { DotString?: string; QuotedString?: string };
    domainPart: { DomainName?: string; AddressLiteral?: string };
  };
  try {
    tree = parseRfc5321(input);
  } catch (err) {
    throw new AddressError(input, grammarReason(input, (err as Error).message));
  }
  const quotedText = tree.localPart.QuotedString;
  const local =
    quotedText !== undefined
      ? quotedText.slice(1, -1).replace(/\\(.)/g, "$1")
      : (tree.localPart.DotString ?? "");
  const domain = (tree.domainPart.DomainName ?? tree.domainPart.AddressLiteral ?? "").toLowerCase();
  return { local, domain, quoted: quotedText !== undefined };
}

/** The parser's message, reduced to one line: what was unexpected, and where (1-based). */
function grammarReason(input: string, message: string): string {
  const m = /line \d+ col (\d+):[\s\S]*?Unexpected (.+?)\. /.exec(message);
  if (m?.[1]) {
    const col = Number(m[1]);
    const part = col <= input.indexOf("@") + 1 ? "local part" : "domain";
    return `unexpected ${m[2]} at position ${col} (in the ${part}; RFC 5321 §4.1.2)`;
  }
  if (/not fully qualified/.test(message)) return "domain is not fully qualified (RFC 5321 §2.3.5)";
  if (/ambiguous/.test(message)) return "does not match RFC 5321 §4.1.2 Mailbox (trailing dot?)";
  return `does not match RFC 5321 §4.1.2 Mailbox (${message.split("\n")[0]})`;
}

/** The address as it goes into an SMTP envelope, quoting the local part when it must. */
export function formatSmtp(a: Pick<SmtpAddress, "local" | "domain">): string {
  const dotAtom =
    /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+)*$/;
  const local = dotAtom.test(a.local) ? a.local : `"${a.local.replace(/(["\\])/g, "\\$1")}"`;
  return `${local}@${a.domain}`;
}

/** `NETWORK/PO/MAILBOX`, each name an MS Mail name; returned upper-case. */
export function parseNativeAddress(input: string): NativeAddress {
  const parts = input.split("/");
  if (parts.length !== 3)
    throw new AddressError(
      input,
      `expected NETWORK/POSTOFFICE/MAILBOX, got ${parts.length} part(s) separated by '/'`,
    );
  const [network, postoffice, mailbox] = parts.map((p) => p.trim()) as [string, string, string];
  for (const [what, name] of [
    ["network", network],
    ["postoffice", postoffice],
    ["mailbox", mailbox],
  ] as const) {
    if (!MS_MAIL_NAME.test(name)) {
      throw new AddressError(
        input,
        `${what} name '${name}' is not an MS Mail name (${MS_MAIL_NAME_RULE})`,
      );
    }
  }
  return {
    kind: "native",
    network: network.toUpperCase(),
    postoffice: postoffice.toUpperCase(),
    mailbox: mailbox.toUpperCase(),
  };
}

export function formatNative(a: Omit<NativeAddress, "kind">): string {
  return `${a.network}/${a.postoffice}/${a.mailbox}`;
}

/** `[SMTP:user@host]` (the type is case-insensitive, as MS Mail typed it). */
export function parseOneOff(input: string): OneOffAddress {
  const m = /^\[smtp:(.*)\]$/is.exec(input);
  if (!m) throw new AddressError(input, "expected a one-off address [SMTP:user@host]");
  return { kind: "oneoff", smtp: parseSmtpAddress(m[1] ?? "") };
}

export function formatOneOff(a: OneOffAddress): string {
  return `[SMTP:${formatSmtp(a.smtp)}]`;
}

/** Any of the three forms, told apart by their shape: `[` one-off, `@` SMTP, `/` native. */
export function parseAnyAddress(input: string): AnyAddress {
  const s = input.trim();
  if (s.startsWith("[")) return parseOneOff(s);
  if (s.includes("@")) return parseSmtpAddress(s);
  if (s.includes("/")) return parseNativeAddress(s);
  throw new AddressError(
    input,
    "neither mailbox@domain, NETWORK/POSTOFFICE/MAILBOX nor [SMTP:user@host]",
  );
}

export function formatAddress(a: AnyAddress): string {
  if (a.kind === "smtp") return formatSmtp(a);
  if (a.kind === "native") return formatNative(a);
  return formatOneOff(a);
}

/** What the conversions need to know of the address map. */
export interface AddressDirectory {
  readonly network: string;
  /** Postoffice id → its SMTP domain. */
  domainOf(postoffice: string): string | undefined;
  /** SMTP domain (lower-case) → postoffice id. */
  postofficeOf(domain: string): string | undefined;
}

/**
 * Native → SMTP. A native address must be in this directory's network and name a known
 * postoffice; a one-off is its SMTP address; an SMTP address is returned as is.
 */
export function toSmtp(dir: AddressDirectory, a: AnyAddress): SmtpAddress {
  if (a.kind === "smtp") return a;
  if (a.kind === "oneoff") return a.smtp;
  const input = formatNative(a);
  if (a.network !== dir.network)
    throw new AddressError(
      input,
      `network ${a.network} is not this address map's network ${dir.network}`,
    );
  const domain = dir.domainOf(a.postoffice);
  if (domain === undefined)
    throw new AddressError(input, `postoffice ${a.postoffice} is not in the address map`);
  return { kind: "smtp", local: a.mailbox.toLowerCase(), domain, quoted: false };
}

/**
 * SMTP → native: an address in a postoffice's domain whose local part is an MS Mail name becomes
 * NETWORK/PO/MAILBOX; every other address becomes a one-off. Mailbox aliases are not applied
 * here (they are routing, see route-recipient.ts), so the conversion round-trips.
 */
export function toNative(dir: AddressDirectory, a: SmtpAddress): NativeAddress | OneOffAddress {
  const postoffice = dir.postofficeOf(a.domain);
  if (postoffice !== undefined && MS_MAIL_NAME.test(a.local)) {
    return { kind: "native", network: dir.network, postoffice, mailbox: a.local.toUpperCase() };
  }
  return { kind: "oneoff", smtp: a };
}
