/**
 * Loop detection while DATA streams (docs/routing.md#loops), two ways:
 *
 * - Hop count: the Received: fields in the incoming header block (RFC 5321 §6.3: "Simple
 *   counting of the number of Received: header fields ... has proven to be an effective ...
 *   method of detecting loops"; it asks for a threshold of "normally at least 100").
 * - Gateway trace: every gateway prepends `Mailbag-Trace: <deployment>/<gateway>; id=<id>`; a
 *   message that already carries this gateway's own trace came back to it (two gateways routing
 *   an address space to each other, a smart host sending mail back), so it is refused at once
 *   instead of circulating until the hop limit.
 *
 * The scanner reads the header block only, chunk by chunk, keeping at most the start of one
 * header line: the body is never buffered.
 */
import { RoutingLoopError } from "./errors.ts";

export const TRACE_FIELD = "Mailbag-Trace";

export interface LoopPolicy {
  /** This gateway's trace identity, from traceIdentity(). */
  readonly self: string;
  /** Refuse a message arriving with this many Received: fields. */
  readonly maxHops: number;
}

/** `<deployment prefix>/<gateway id>`: two deployments' gateways with the same id differ. */
export function traceIdentity(prefix: string, gatewayId: string): string {
  return `${prefix}/${gatewayId}`;
}

/** The trace field this gateway prepends (after its Received: field), CRLF-terminated. */
export function traceHeader(self: string, id: string): string {
  return `${TRACE_FIELD}: ${self}; id=${id}\r\n`;
}

/** The start of a line that tells us what we need: a field name and a trace identity. */
const KEEP = 200;
const RECEIVED = "received:";
const TRACE = `${TRACE_FIELD.toLowerCase()}:`;

export interface HeaderCounts {
  received: number;
  /** Trace identities found, lower-case. */
  traces: string[];
  /** The blank line ending the header block has been seen. */
  done: boolean;
}

/**
 * A function to feed each DATA chunk to; it returns the RoutingLoopError as soon as the header
 * block shows a loop, and undefined otherwise (then and for every later chunk).
 */
export function loopScanner(policy: LoopPolicy): (chunk: Buffer) => RoutingLoopError | undefined {
  const scan = headerScanner();
  const self = policy.self.toLowerCase();
  let verdict: RoutingLoopError | undefined;
  let decided = false;
  return (chunk) => {
    if (decided) return undefined;
    const counts = scan(chunk);
    if (counts.traces.includes(self)) {
      verdict = new RoutingLoopError(`the message already passed through gateway ${policy.self}`);
    } else if (counts.received >= policy.maxHops) {
      verdict = new RoutingLoopError(
        `too many hops (${counts.received} Received: header fields, limit ${policy.maxHops})`,
      );
    }
    decided = verdict !== undefined || counts.done;
    return verdict;
  };
}

/** Counts Received: fields and collects trace identities across chunks, until the blank line. */
export function headerScanner(): (chunk: Buffer) => HeaderCounts {
  const counts: HeaderCounts = { received: 0, traces: [], done: false };
  let line = "";
  let lineLength = 0;
  const endLine = () => {
    if (lineLength === 0) {
      counts.done = true;
      return;
    }
    const lower = line.toLowerCase();
    if (lower.startsWith(RECEIVED)) counts.received++;
    else if (lower.startsWith(TRACE)) {
      const identity = lower.slice(TRACE.length).split(";")[0]?.trim();
      // Bounded: a header block of trace fields cannot grow this list without limit.
      if (identity && counts.traces.length < 1000) counts.traces.push(identity);
    }
    line = "";
    lineLength = 0;
  };
  return (chunk) => {
    for (let i = 0; i < chunk.length && !counts.done; i++) {
      const byte = chunk[i] as number;
      if (byte === 0x0a) {
        endLine();
      } else if (byte !== 0x0d) {
        // CR is dropped: lines end at LF, CRLF or bare LF alike.
        if (lineLength < KEEP) line += String.fromCharCode(byte);
        lineLength++;
      }
    }
    return counts;
  };
}
