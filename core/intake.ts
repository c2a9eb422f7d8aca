/**
 * The outbound mailbag intake (docs/postoffices.md#outbound-mailbag): a postoffice drops a
 * message as an object under `outbound/<PO>/`; it is taken in through the same accept path as
 * SMTP (acceptMessage: size limit, loop check, trace fields, envelope, FIFO route job) and the
 * object is removed only once that is durable. An object that cannot be taken in moves to
 * `outbound/<PO>/rejected/` with `<name>.reason.json` beside it: never silently dropped.
 *
 * The envelope comes from `<name>.envelope.json` when the postoffice wrote one (before the
 * message object), otherwise from the header fields, parsed with mailparser (From → sender;
 * To, Cc, Bcc → recipients). Only the header block is read for that; the body is streamed.
 * Bcc fields never go on (RFC 5322 §3.6.3).
 */
import { Readable } from "node:stream";
import { type AddressObject, simpleParser } from "mailparser";
import { z } from "zod";
import { type AcceptDeps, acceptMessage } from "./accept.ts";
import { parseSmtpAddress } from "./address.ts";
import type { AddressMap } from "./address-map.ts";
import {
  isMailbagError,
  type MailbagError,
  MessageTooLargeError,
  outboundRejection,
} from "./errors.ts";
import { headerEnd, looksLikeHeader, MAX_HEADER_BYTES, withoutFields } from "./header-block.ts";
import { messageIdFor } from "./ids.ts";
import { acceptRecipient } from "./ingress-policy.ts";
import { traceIdentity } from "./loop.ts";
import { keys } from "./names.ts";
import type { StoredObject } from "./ports.ts";
import { receivedHeader } from "./received.ts";

export interface IntakeDeps extends AcceptDeps {
  readonly map: AddressMap;
  readonly gatewayId: string;
  /** Our name in the Received: field. */
  readonly hostname: string;
  readonly now?: () => Date;
}

export type IntakeOutcome =
  | { readonly kind: "accepted"; readonly id: string; readonly postoffice: string }
  | { readonly kind: "rejected"; readonly postoffice: string; readonly reason: string }
  /** Not a message object of an outbound mailbag (an envelope object, a rejected one...). */
  | { readonly kind: "ignored" };

/** What a postoffice may write beside `<name>.eml` as `<name>.envelope.json`. */
const envelopeObject = z.strictObject({
  mailFrom: z.string(),
  rcptTo: z.array(z.string()).min(1),
});

/** `outbound/<PO>/<name>.eml` → its postoffice and name; anything else (rejected/, .json) → undefined. */
export function outboundObject(key: string): { postoffice: string; name: string } | undefined {
  const m = /^outbound\/([^/]+)\/([^/]+)\.eml$/.exec(key);
  return m?.[1] && m[2] ? { postoffice: m[1], name: m[2] } : undefined;
}

export async function intakeObject(deps: IntakeDeps, object: StoredObject): Promise<IntakeOutcome> {
  const parsed = outboundObject(object.key);
  if (!parsed) return { kind: "ignored" };
  const { postoffice, name } = parsed;
  const envelopeKey = `${keys.outbound(postoffice)}${name}.envelope.json`;
  try {
    const id = messageIdFor(object.lastModified.getTime(), `${object.key}\n${object.etag}`);
    await takeIn(deps, object, postoffice, envelopeKey, id);
    await deps.store.delete([object.key, envelopeKey]);
    return { kind: "accepted", id, postoffice };
  } catch (err) {
    // 4xx or a backend failure: the object stays and is tried again.
    if (!isMailbagError(err) || err.transient) throw err;
    await reject(deps, object.key, envelopeKey, postoffice, name, err);
    return { kind: "rejected", postoffice, reason: err.reply };
  }
}

async function takeIn(
  deps: IntakeDeps,
  object: StoredObject,
  postoffice: string,
  envelopeKey: string,
  id: string,
): Promise<void> {
  const { map, store } = deps;
  const limits = map.config.limits;
  if (object.size > limits.maxMessageBytes) {
    throw new MessageTooLargeError(limits.maxMessageBytes);
  }
  const start = await readStart(
    await store.getStream(object.key, `bytes=0-${MAX_HEADER_BYTES - 1}`),
  );
  const end = headerEnd(start) ?? (start.length === object.size ? start.length : undefined);
  if (end === undefined || !looksLikeHeader(start)) {
    throw outboundRejection.notAMessage();
  }
  const header = start.subarray(0, end);
  const given = await store.getJson(envelopeKey).catch((err: unknown) => {
    if (err instanceof SyntaxError) throw outboundRejection.malformedEnvelope(err.message);
    throw err;
  });
  const envelope = given === undefined ? await fromHeaders(header) : fromObject(given);
  checkSender(map, deps.gatewayId, postoffice, envelope.mailFrom);
  if (envelope.rcptTo.length > limits.maxRecipients) {
    throw outboundRejection.tooManyRecipients(limits.maxRecipients);
  }
  for (const rcpt of envelope.rcptTo) acceptRecipient(map, deps.gatewayId, rcpt, postoffice);

  const rest = end < object.size ? await store.getStream(object.key, `bytes=${end}-`) : undefined;
  const data = Readable.from(
    (async function* () {
      yield withoutFields(header, ["bcc"]);
      if (rest) yield* rest;
    })(),
  );
  const receivedAt = (deps.now ?? (() => new Date()))();
  await acceptMessage(deps, {
    data,
    header: receivedHeader({
      helo: "",
      clientAddress: "",
      tls: true,
      authenticated: true,
      byHost: deps.hostname,
      gateway: deps.gatewayId,
      id,
      recipients: envelope.rcptTo,
      date: receivedAt,
      outboundMailbag: postoffice,
    }),
    maxBytes: limits.maxMessageBytes,
    loop: { self: traceIdentity(map.config.prefix, deps.gatewayId), maxHops: limits.maxHops },
    envelope: {
      id,
      gateway: deps.gatewayId,
      mailFrom: envelope.mailFrom,
      rcptTo: envelope.rcptTo,
      client: { address: "", helo: `outbound/${postoffice}`, tls: true, postoffice },
      receivedAt: receivedAt.toISOString(),
      params: {},
    },
  });
}

/** The first bytes of a message (at most MAX_HEADER_BYTES, as requested by range). */
async function readStart(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface SimpleEnvelope {
  mailFrom: string;
  rcptTo: string[];
}

function fromObject(json: unknown): SimpleEnvelope {
  const r = envelopeObject.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw outboundRejection.malformedEnvelope(
      `${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
    );
  }
  return { mailFrom: r.data.mailFrom, rcptTo: [...new Set(r.data.rcptTo)] };
}

async function fromHeaders(header: Buffer): Promise<SimpleEnvelope> {
  const mail = await simpleParser(header, { skipHtmlToText: true, skipTextToHtml: true });
  const addresses = (field: AddressObject | AddressObject[] | undefined): string[] =>
    [field ?? []]
      .flat()
      .flatMap((o) => o.value)
      .flatMap((a) => (a.group ? a.group : [a]))
      .flatMap((a) => (a.address ? [a.address] : []));
  const [mailFrom, ...others] = addresses(mail.from);
  if (mailFrom === undefined || others.length > 0) {
    throw outboundRejection.noSender();
  }
  const rcptTo = [
    ...new Set([...addresses(mail.to), ...addresses(mail.cc), ...addresses(mail.bcc)]),
  ];
  if (rcptTo.length === 0) {
    throw outboundRejection.noRecipients();
  }
  return { mailFrom, rcptTo };
}

/** As for SMTP submission: the sender is an address of the postoffice whose mailbag it is. */
function checkSender(
  map: AddressMap,
  gatewayId: string,
  postoffice: string,
  mailFrom: string,
): void {
  const domain = parseSmtpAddress(mailFrom).domain;
  if (map.byDomain.get(domain)?.id !== postoffice) {
    throw outboundRejection.foreignSender(mailFrom, postoffice);
  }
  if (map.senderOf.get(postoffice)?.id !== gatewayId) {
    throw outboundRejection.notSentHere(gatewayId, postoffice);
  }
}

async function reject(
  deps: IntakeDeps,
  key: string,
  envelopeKey: string,
  postoffice: string,
  name: string,
  err: MailbagError,
): Promise<void> {
  const to = keys.rejected(postoffice);
  await deps.store.copy(key, `${to}${name}.eml`);
  // Only when the postoffice wrote one (a missing source is a NoSuchKey).
  await deps.store.copy(envelopeKey, `${to}${name}.envelope.json`).catch(() => undefined);
  await deps.store.putJson(`${to}${name}.reason.json`, {
    object: key,
    reply: err.reply,
    reason: err.reason,
    at: (deps.now ?? (() => new Date()))().toISOString(),
  });
  await deps.store.delete([key, envelopeKey]);
}
