/**
 * Which client addresses a list of CIDR blocks covers (a postoffice's `submit.networks`):
 * parsing `a.b.c.d/n` and `x::y/n`, and matching with node:net's BlockList
 * (https://nodejs.org/api/net.html#class-netblocklist).
 */
import { BlockList, isIP } from "node:net";

/** Parses `a.b.c.d/n` or `x::y/n` into a BlockList-ready form, or undefined if invalid. */
export function parseCidr(
  s: string,
): { address: string; prefix: number; family: "ipv4" | "ipv6" } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m?.[1] || !m[2]) return undefined;
  const version = isIP(m[1]);
  const prefix = Number(m[2]);
  if (version === 0 || prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address: m[1], prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/** A matcher for a list of CIDR blocks; IPv4-mapped IPv6 client addresses match IPv4 blocks. */
export function networkMatcher(cidrs: readonly string[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const c of cidrs) {
    const parsed = parseCidr(c);
    if (parsed) list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return (ip) => {
    const v4 = ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
    const version = isIP(v4);
    return version !== 0 && list.check(v4, version === 4 ? "ipv4" : "ipv6");
  };
}
