import { createHash, randomBytes } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * A ULID (https://github.com/ulid/spec): 48-bit millisecond time + 80 random bits, Crockford
 * base32. Sorts by acceptance time, so a listing of `messages/` reads in arrival order, and is
 * safe in S3 keys, SQS deduplication ids (max 128 chars) and SMTP replies.
 */
export function newMessageId(now: number = Date.now()): string {
  return ulid(now, randomBytes(16));
}

/**
 * The same id every time for the same `seed`: a message taken in from an object in an outbound
 * mailbag gets its id from the object's key and ETag, so taking the same object in twice (a
 * crash between the accept and the removal of the object) writes the same records and the same
 * FIFO deduplication id instead of a second message.
 */
export function messageIdFor(time: number, seed: string): string {
  return ulid(time, createHash("sha256").update(seed).digest());
}

function ulid(now: number, bytes: Buffer): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD.charAt(t % 32) + time;
    t = Math.floor(t / 32);
  }
  let random = "";
  for (let i = 0; i < 16; i++) random += CROCKFORD.charAt((bytes[i] ?? 0) % 32);
  return time + random;
}

export const MESSAGE_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** The acceptance time (ms) a message id carries in its first ten characters. */
export function idTime(id: string): number {
  let t = 0;
  for (const c of id.slice(0, 10)) t = t * 32 + CROCKFORD.indexOf(c);
  return t;
}
