/**
 * Typed factories for the records the spool keeps (core/envelope.ts): each returns a record that
 * parses, with the fields a test cares about overridden. The type checker keeps them in step
 * with the schemas.
 */
import type { AcceptInput } from "../../core/accept.ts";
import type { DeliverJob, Envelope, RouteJob } from "../../core/envelope.ts";

export const MESSAGE_ID = "01M83NWSMK14EAP3CBEJT2Y9S0";

export function envelopeRecord(overrides: Partial<Envelope> = {}): Envelope {
  return {
    version: 1,
    id: MESSAGE_ID,
    gateway: "GW1",
    mailFrom: "",
    rcptTo: ["jsmith@sales.company.test"],
    client: { address: "127.0.0.1", helo: "x", tls: false },
    receivedAt: "2026-11-23T07:40:00.000Z",
    size: 10,
    sha256: "0".repeat(64),
    params: {},
    rcptParams: {},
    ...overrides,
  };
}

export function routeJob(overrides: Partial<RouteJob> = {}): RouteJob {
  return { v: 1, id: MESSAGE_ID, gateway: "GW1", ...overrides };
}

export function deliverJob(overrides: Partial<DeliverJob> = {}): DeliverJob {
  return { v: 1, id: MESSAGE_ID, gateway: "GW1", recipients: ["a@x.test"], ...overrides };
}

/** What the ingress hands acceptMessage for one transaction (without the DATA stream). */
export function acceptEnvelope(
  overrides: Partial<AcceptInput["envelope"]> = {},
): AcceptInput["envelope"] {
  const { version: _v, size: _s, sha256: _h, ...rest } = envelopeRecord();
  return { ...rest, ...overrides };
}
