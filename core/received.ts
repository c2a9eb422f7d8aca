/**
 * The trace header the gateway prepends to every message it accepts (RFC 5321 §4.4).
 * "with" keywords per RFC 3848: ESMTP, ESMTPS (TLS), ESMTPA (AUTH), ESMTPSA (both).
 */
export interface ReceivedFacts {
  readonly helo: string;
  readonly clientAddress: string;
  readonly clientHostname?: string | undefined;
  readonly tls: boolean;
  readonly authenticated: boolean;
  readonly byHost: string;
  readonly gateway: string;
  readonly id: string;
  /** Named in the header only when there is exactly one, so other recipients are not disclosed. */
  readonly recipients: readonly string[];
  readonly date: Date;
  /**
   * Taken in from this postoffice's outbound mailbag (an S3 object, not an SMTP client): the
   * from-clause names the mailbag and the protocol is HTTPS, the S3 API's.
   */
  readonly outboundMailbag?: string;
}

export function receivedHeader(f: ReceivedFacts): string {
  if (f.outboundMailbag) {
    const po = sanitize(f.outboundMailbag);
    return trace(
      f,
      `outbound.${po.toLowerCase()}.mailbag (outbound mailbag of postoffice ${po})`,
      "HTTPS",
    );
  }
  const proto = `ESMTP${f.tls ? "S" : ""}${f.authenticated ? "A" : ""}`;
  const ip = f.clientAddress.replace(/^::ffff:/, "");
  const literal = ip.includes(":") ? `[IPv6:${ip}]` : `[${ip}]`;
  const peer =
    f.clientHostname && f.clientHostname !== ip ? `${f.clientHostname} ${literal}` : literal;
  const helo = sanitize(f.helo) || literal;
  return trace(f, `${helo} (${peer})`, proto);
}

function trace(f: ReceivedFacts, from: string, proto: string): string {
  const forClause =
    f.recipients.length === 1 ? `\r\n\tfor <${sanitize(f.recipients[0] ?? "")}>` : "";
  return (
    `Received: from ${from}\r\n` +
    `\tby ${f.byHost} (Mailbag Gateway ${f.gateway}) with ${proto} id ${f.id}${forClause};\r\n` +
    `\t${rfc5322Date(f.date)}\r\n`
  );
}

/** HELO arguments and addresses come from the client: keep them to one printable line. */
function sanitize(s: string): string {
  return s.replace(/[^\x21-\x7e]/g, "").slice(0, 255);
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** RFC 5322 §3.3 date-time in UTC, e.g. `Mon, 23 Nov 2026 07:40:00 +0000`. */
export function rfc5322Date(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
