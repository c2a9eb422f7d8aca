/**
 * Address spaces: what a route to another gateway covers (seed Q148389: "use MICROSOFT for the
 * network and PO2 for the post office in the address space. Leave the mailbox entry empty").
 *
 * Patterns, most specific first (docs/routing.md#precedence):
 * - `COMPANY/PO2/*` (or `COMPANY/PO2/`, `COMPANY/PO2`): every mailbox of one postoffice, which is
 *   exactly its one SMTP domain, so it ranks with an exact domain;
 * - `partner.test`: one SMTP domain;
 * - `*.partner.test`: every subdomain of partner.test (not partner.test itself); a longer suffix
 *   is more specific;
 * - `*`: every address.
 */
import { MS_MAIL_NAME, MS_MAIL_NAME_RULE } from "./address.ts";

export type SpacePattern =
  | { readonly kind: "postoffice"; readonly network: string; readonly postoffice: string }
  | { readonly kind: "domain"; readonly domain: string }
  | { readonly kind: "subdomains"; readonly suffix: string }
  | { readonly kind: "any" };

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The pattern, or a string saying why it is not one. */
export function parseSpacePattern(text: string): SpacePattern | string {
  const s = text.trim();
  if (s === "*") return { kind: "any" };
  if (s.includes("/")) {
    const [network = "", postoffice = "", mailbox, ...rest] = s.split("/");
    if (rest.length > 0 || (mailbox !== undefined && mailbox !== "" && mailbox !== "*")) {
      return "a native address space is NETWORK/POSTOFFICE/* (mailbox left empty or '*')";
    }
    for (const name of [network, postoffice]) {
      if (!MS_MAIL_NAME.test(name))
        return `'${name}' is not an MS Mail name (${MS_MAIL_NAME_RULE})`;
    }
    return {
      kind: "postoffice",
      network: network.toUpperCase(),
      postoffice: postoffice.toUpperCase(),
    };
  }
  const wildcard = s.startsWith("*.");
  const domain = (wildcard ? s.slice(2) : s).toLowerCase();
  const labels = domain.split(".");
  if (
    domain.length > 253 ||
    !labels.every((l) => LABEL.test(l)) ||
    (!wildcard && labels.length < 2)
  ) {
    return "expected NETWORK/PO/*, a domain such as partner.test, *.partner.test or *";
  }
  return wildcard ? { kind: "subdomains", suffix: domain } : { kind: "domain", domain };
}

export function formatSpacePattern(p: SpacePattern): string {
  switch (p.kind) {
    case "postoffice":
      return `${p.network}/${p.postoffice}/*`;
    case "domain":
      return p.domain;
    case "subdomains":
      return `*.${p.suffix}`;
    case "any":
      return "*";
  }
}

/** Higher is more specific: a postoffice or exact domain, then longer suffixes, then `*`. */
export function specificity(p: SpacePattern): number {
  switch (p.kind) {
    case "postoffice":
    case "domain":
      return 1000;
    case "subdomains":
      return 500 + p.suffix.split(".").length;
    case "any":
      return 0;
  }
}

/** Whether the pattern covers an address in `domain` (in `postoffice`, when it is one's). */
export function spaceMatches(
  p: SpacePattern,
  domain: string,
  postoffice: string | undefined,
): boolean {
  switch (p.kind) {
    case "postoffice":
      return postoffice === p.postoffice;
    case "domain":
      return domain === p.domain;
    case "subdomains":
      return domain.endsWith(`.${p.suffix}`);
    case "any":
      return true;
  }
}
