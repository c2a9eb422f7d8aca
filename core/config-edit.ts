/**
 * Editing the config file the way the seed's Administrator program edits the gateway
 * (Gateway, SMTP, Postoffices, Create/Modify/Delete; Address-Map, Add): pure functions from the
 * raw JSON to the new raw JSON. The CLI validates the result with parseConfig before it writes
 * anything, so these only check what parseConfig cannot see: that the thing edited exists, and
 * that nothing still refers to what is deleted. Every error names the field.
 */
import { parseNativeAddress, parseSmtpAddress } from "./address.ts";
import { formatSpacePattern, parseSpacePattern } from "./address-space.ts";
import type { ConfigInput, GatewayMode, UnknownMailboxPolicy } from "./config.ts";
import { ConfigError } from "./errors.ts";

type RawPostoffice = ConfigInput["postoffices"][number];
type RawGateway = ConfigInput["gateways"][number];
type RawSpace = NonNullable<ConfigInput["addressSpaces"]>[number];

const same = (a: string, b: string) => a.toUpperCase() === b.toUpperCase();

function findIndex<T extends { id: string }>(list: readonly T[], id: string): number {
  return list.findIndex((x) => same(x.id, id));
}

function postofficeIndex(raw: ConfigInput, id: string): number {
  const i = findIndex(raw.postoffices, id);
  if (i < 0) throw new ConfigError("postoffices", `no postoffice ${id}`);
  return i;
}

function gatewayIndex(raw: ConfigInput, id: string): number {
  const i = findIndex(raw.gateways, id);
  if (i < 0) {
    const ids = raw.gateways.map((g) => g.id).join(", ");
    throw new ConfigError("gateways", `no gateway ${id} (gateways: ${ids})`);
  }
  return i;
}

/** A copy of `raw` with one postoffice or gateway replaced by `apply`'s result. */
function modifyEntry<K extends "postoffices" | "gateways">(
  raw: ConfigInput,
  list: K,
  id: string,
  apply: (entry: ConfigInput[K][number]) => ConfigInput[K][number],
): ConfigInput {
  const next = structuredClone(raw);
  const entries = next[list] as ConfigInput[K][number][];
  const i = list === "postoffices" ? postofficeIndex(next, id) : gatewayIndex(next, id);
  entries[i] = apply(entries[i] as ConfigInput[K][number]);
  return next;
}

export interface PostofficeFields {
  readonly domain?: string | undefined;
  /** A hub postoffice id; null removes the hub. */
  readonly via?: string | null | undefined;
  readonly unknownMailbox?: UnknownMailboxPolicy | undefined;
  readonly mailboxes?: readonly string[] | undefined;
  readonly submitNetworks?: readonly string[] | undefined;
}

function applyPostoffice(po: RawPostoffice, f: PostofficeFields): RawPostoffice {
  const next: RawPostoffice = { ...po };
  if (f.domain !== undefined) next.domain = f.domain;
  if (f.via === null) delete next.via;
  else if (f.via !== undefined) next.via = f.via;
  if (f.unknownMailbox !== undefined) next.unknownMailbox = f.unknownMailbox;
  if (f.mailboxes !== undefined) next.mailboxes = [...f.mailboxes];
  if (f.submitNetworks !== undefined) {
    next.submit = { ...next.submit, networks: [...f.submitNetworks] };
  }
  return next;
}

/** A new postoffice, listed by `gateways` (a hub's downstream postoffice may list none). */
export function createPostoffice(
  raw: ConfigInput,
  id: string,
  fields: PostofficeFields & { readonly domain: string },
  gateways: readonly string[],
): ConfigInput {
  const existing = findIndex(raw.postoffices, id);
  if (existing >= 0) {
    throw new ConfigError(`postoffices[${existing}].id`, `postoffice ${id} already exists`);
  }
  const next = structuredClone(raw);
  next.postoffices.push(applyPostoffice({ id, domain: fields.domain }, fields));
  for (const gw of gateways) next.gateways[gatewayIndex(next, gw)]?.postoffices.push(id);
  return next;
}

export function modifyPostoffice(
  raw: ConfigInput,
  id: string,
  fields: PostofficeFields,
): ConfigInput {
  return modifyEntry(raw, "postoffices", id, (po) => applyPostoffice(po, fields));
}

/**
 * Removes a postoffice and its gateway listings. Refused while a hub route, an alias or an
 * address space still names it: those are decisions an administrator makes, not side effects.
 */
export function deletePostoffice(raw: ConfigInput, id: string): ConfigInput {
  const next = structuredClone(raw);
  const i = postofficeIndex(next, id);
  next.postoffices.forEach((po, p) => {
    if (po.via !== undefined && same(po.via, id)) {
      throw new ConfigError(`postoffices[${p}].via`, `postoffice ${po.id} is reached via ${id}`);
    }
    for (const [name, target] of Object.entries(po.aliases ?? {})) {
      if (same(nativePostoffice(target) ?? "", id)) {
        throw new ConfigError(
          `postoffices[${p}].aliases.${name}`,
          `alias ${name} points at ${target}`,
        );
      }
    }
  });
  (next.addressSpaces ?? []).forEach((s, a) => {
    const pattern = parseSpacePattern(s.pattern);
    if (
      typeof pattern !== "string" &&
      pattern.kind === "postoffice" &&
      same(pattern.postoffice, id)
    ) {
      throw new ConfigError(
        `addressSpaces[${a}].pattern`,
        `address space ${s.pattern} covers ${id}`,
      );
    }
  });
  next.postoffices.splice(i, 1);
  for (const gw of next.gateways) gw.postoffices = gw.postoffices.filter((p) => !same(p, id));
  return next;
}

/** The postoffice of a native address as written in the raw file, if it is one. */
function nativePostoffice(address: string): string | undefined {
  try {
    return parseNativeAddress(address).postoffice;
  } catch {
    return undefined;
  }
}

/** `local@domain` of a postoffice: which postoffice, and the alias key (lower-case). */
function aliasKey(raw: ConfigInput, address: string): { index: number; name: string } {
  const a = parseSmtpAddress(address);
  const index = raw.postoffices.findIndex((po) => po.domain.toLowerCase() === a.domain);
  if (index < 0) throw new ConfigError("postoffices", `no postoffice has the domain ${a.domain}`);
  return { index, name: a.local.toLowerCase() };
}

/** Address-Map, Add: `postmaster@sales.company.test` stands for `COMPANY/HQ/ADMIN`. */
export function addAlias(raw: ConfigInput, address: string, target: string): ConfigInput {
  const next = structuredClone(raw);
  const { index, name } = aliasKey(next, address);
  const po = next.postoffices[index] as RawPostoffice;
  po.aliases = { ...po.aliases, [name]: target };
  return next;
}

export function removeAlias(raw: ConfigInput, address: string): ConfigInput {
  const next = structuredClone(raw);
  const { index, name } = aliasKey(next, address);
  const po = next.postoffices[index] as RawPostoffice;
  const key = Object.keys(po.aliases ?? {}).find((k) => k.toLowerCase() === name);
  if (key === undefined) {
    throw new ConfigError(`postoffices[${index}].aliases`, `no alias ${address}`);
  }
  const { [key]: _removed, ...rest } = po.aliases ?? {};
  po.aliases = rest;
  return next;
}

export function addSpace(raw: ConfigInput, space: RawSpace): ConfigInput {
  const next = structuredClone(raw);
  next.addressSpaces = [...(next.addressSpaces ?? []), space];
  return next;
}

/** Removes the address spaces with this pattern (only those to `gateway`, when given). */
export function removeSpace(raw: ConfigInput, pattern: string, gateway?: string): ConfigInput {
  const next = structuredClone(raw);
  const spaces = next.addressSpaces ?? [];
  const norm = (p: string) => {
    const parsed = parseSpacePattern(p);
    return (typeof parsed === "string" ? p.trim() : formatSpacePattern(parsed)).toLowerCase();
  };
  const keep = spaces.filter(
    (s) =>
      !(norm(s.pattern) === norm(pattern) && (gateway === undefined || same(s.gateway, gateway))),
  );
  if (keep.length === spaces.length) {
    throw new ConfigError(
      "addressSpaces",
      `no address space ${pattern}${gateway ? ` to ${gateway}` : ""}`,
    );
  }
  next.addressSpaces = keep;
  return next;
}

export interface GatewayFields {
  readonly mode?: GatewayMode | undefined;
  readonly addPostoffices?: readonly string[] | undefined;
  readonly removePostoffices?: readonly string[] | undefined;
  readonly hostname?: string | undefined;
  readonly address?: string | undefined;
  readonly port?: number | undefined;
  readonly ingressUrl?: string | undefined;
}

function applyGateway(gw: RawGateway, f: GatewayFields): RawGateway {
  const next: RawGateway = { ...gw, postoffices: [...gw.postoffices] };
  if (f.mode !== undefined) next.mode = f.mode;
  for (const po of f.addPostoffices ?? []) {
    if (!next.postoffices.some((p) => same(p, po))) next.postoffices.push(po);
  }
  const removed = f.removePostoffices ?? [];
  next.postoffices = next.postoffices.filter((p) => !removed.some((r) => same(p, r)));
  if (f.hostname !== undefined) next.hostname = f.hostname;
  if (f.address !== undefined) next.address = f.address;
  if (f.port !== undefined) next.port = f.port;
  if (f.ingressUrl !== undefined) next.ingressUrl = f.ingressUrl;
  return next;
}

export function createGateway(
  raw: ConfigInput,
  id: string,
  fields: GatewayFields & { readonly mode: GatewayMode },
): ConfigInput {
  const existing = findIndex(raw.gateways, id);
  if (existing >= 0)
    throw new ConfigError(`gateways[${existing}].id`, `gateway ${id} already exists`);
  const next = structuredClone(raw);
  next.gateways.push(applyGateway({ id, mode: fields.mode, postoffices: [] }, fields));
  return next;
}

export function modifyGateway(raw: ConfigInput, id: string, fields: GatewayFields): ConfigInput {
  return modifyEntry(raw, "gateways", id, (gw) => applyGateway(gw, fields));
}

/** Refused while an address space routes to or from it. */
export function deleteGateway(raw: ConfigInput, id: string): ConfigInput {
  const next = structuredClone(raw);
  const i = gatewayIndex(next, id);
  (next.addressSpaces ?? []).forEach((s, a) => {
    if (same(s.gateway, id)) {
      throw new ConfigError(
        `addressSpaces[${a}].gateway`,
        `address space ${s.pattern} routes to ${id}`,
      );
    }
    const f = (s.from ?? []).findIndex((g) => same(g, id));
    if (f >= 0) {
      throw new ConfigError(
        `addressSpaces[${a}].from[${f}]`,
        `address space ${s.pattern} is used by ${id}`,
      );
    }
  });
  next.gateways.splice(i, 1);
  return next;
}
