/**
 * Pickup (docs/postoffices.md#pickup): `mailbag fetch` drains a postoffice's inbound mailbag
 * into a hand-off (a Maildir, a local MTA), in acceptance order (message ids are ULIDs). A
 * message leaves the mailbag only after its hand-off succeeded, so a fetch killed at any point
 * loses nothing; a hand-off that finds the message already there (a Maildir file of the same
 * deterministic name, left by a run killed between hand-off and removal) delivers nothing twice.
 */
import type { Readable } from "node:stream";
import { type Envelope, parseEnvelope } from "./envelope.ts";
import { keys } from "./names.ts";
import type { MailbagStore } from "./ports.ts";

export interface Handoff {
  /** Hands one message over; "already" when an earlier run had handed it over before it died. */
  deliver(message: {
    readonly id: string;
    readonly envelope: Envelope;
    readonly size: number;
    body(): Promise<Readable>;
  }): Promise<"delivered" | "already">;
}

export interface DrainProgress {
  /** Messages waiting when this pass listed the mailbag. */
  readonly waiting: number;
  readonly messages: number;
  readonly bytes: number;
  /** Found already handed over by an earlier run: removed from the mailbag only. */
  readonly already: number;
}

export async function drainInbound(
  store: MailbagStore,
  postoffice: string,
  handoff: Handoff,
  onProgress: (p: DrainProgress) => void = () => {},
  stopped: () => boolean = () => false,
): Promise<DrainProgress> {
  const objects = (await store.list(`inbound/${postoffice}/`, { shallow: true })).filter((o) =>
    o.key.endsWith(".eml"),
  );
  const progress = { waiting: objects.length, messages: 0, bytes: 0, already: 0 };
  for (const object of objects) {
    if (stopped()) break;
    const id = object.key.slice(`inbound/${postoffice}/`.length, -".eml".length);
    const envelopeKey = keys.inboundEnvelope(postoffice, id);
    const raw = await store.getJson(envelopeKey);
    // The router copies the message first, then writes its envelope: not complete yet.
    if (raw === undefined) continue;
    const result = await handoff.deliver({
      id,
      envelope: parseEnvelope(raw),
      size: object.size,
      body: () => store.getStream(object.key),
    });
    await store.delete([object.key, envelopeKey]);
    if (result === "already") progress.already++;
    else {
      progress.messages++;
      progress.bytes += object.size;
    }
    onProgress(progress);
  }
  return progress;
}
