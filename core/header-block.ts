/**
 * The header block of a stored message (RFC 5322 §2.1: header fields, then an empty line, then
 * the body), read without touching the body: the outbound mailbag intake parses only this part
 * and streams the rest.
 */

/** The most header a message may have before it is "not a message" (Postfix's header_size_limit is 100 KiB). */
export const MAX_HEADER_BYTES = 256 * 1024;

/**
 * Where the header block of `start` (the first bytes of a message) ends: the offset just after
 * the empty line, or undefined when `start` holds no empty line.
 */
export function headerEnd(start: Buffer): number | undefined {
  for (let i = start.indexOf(0x0a); i !== -1; i = start.indexOf(0x0a, i + 1)) {
    const next = start[i + 1];
    if (next === 0x0a) return i + 2;
    if (next === 0x0d && start[i + 2] === 0x0a) return i + 3;
  }
  return undefined;
}

/** RFC 5322 §2.2: a field name is printable ASCII except colon, then a colon. */
const FIELD = /^[\x21-\x39\x3b-\x7e]+:/;

/** Whether `header` is a header block: its first line is a header field. */
export function looksLikeHeader(header: Buffer): boolean {
  return FIELD.test(header.subarray(0, 1000).toString("latin1"));
}

/**
 * `header` without the fields named in `names` (lower-case), folded continuation lines
 * included (RFC 5322 §2.2.3). Every other byte is kept as it was.
 */
export function withoutFields(header: Buffer, names: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  let dropping = false;
  let at = 0;
  while (at < header.length) {
    const lf = header.indexOf(0x0a, at);
    const end = lf === -1 ? header.length : lf + 1;
    const line = header.subarray(at, end);
    const first = line[0];
    if (first !== 0x20 && first !== 0x09) {
      const name = /^([^:\r\n]*):/.exec(line.toString("latin1"))?.[1]?.trim().toLowerCase();
      dropping = name !== undefined && names.includes(name);
    }
    if (!dropping) parts.push(line);
    at = end;
  }
  return Buffer.concat(parts);
}
