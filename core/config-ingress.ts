/**
 * The SMTP ingress's own settings (functions/ingress/): size, recipient, hop and connection
 * limits, the AUTH guessing defence and the TLS certificate. Kept in their own file, as the
 * `aws` section is (config-aws.ts), so the ingress can grow without touching the address map.
 */
import { z } from "zod";
import { int, wholeNumbers } from "./config-int.ts";

export const limitsSection = wholeNumbers({
  /** Advertised in EHLO SIZE and enforced while DATA streams (RFC 1870). */
  maxMessageBytes: [1024, Number.MAX_SAFE_INTEGER, 50 * 1024 * 1024],
  /** RFC 5321 §4.5.3.1.8: at least 100 must be accepted. */
  maxRecipients: [100, 1000, 100],
  /**
   * A message that arrives with this many Received: fields is refused (routingLoop)
   * (RFC 5321 §6.3: "normally at least 100"; docs/routing.md#loops).
   */
  maxHops: [10, 1000, 100],
  /** Open SMTP connections of one ingress; the next one gets 421 (connectionLimit). */
  maxConnections: [1, 100_000, 500],
  /** Open SMTP connections from one client address. */
  maxConnectionsPerClient: [1, 100_000, 20],
  /**
   * Total lifetime of one SMTP session, however busy: the idle timeout alone lets a client
   * keep a connection forever by trickling bytes. Then 421 (connectionLimit) and disconnect.
   */
  maxSessionSeconds: [1, 86_400, 1800],
  /**
   * Pause before the 220 greeting; a client that talks first is refused as an early talker
   * (RFC 5321 §4.3.1 says a client waits for the greeting). smtp-server's fixed 100 ms,
   * patched into a setting (patches/smtp-server+*.patch); 0 for trusted senders and benches.
   */
  greetingDelayMs: [0, 30_000, 100],
});

/** SMTP AUTH guessing defence (functions/ingress/server.ts, core/auth-guard.ts). */
export const authSection = wholeNumbers({
  maxFailuresPerClient: [1, 1000, 5],
  maxFailuresPerUser: [1, 100_000, 20],
  lockoutSeconds: [1, 86_400, 900],
  failureDelayMs: [0, 60_000, 500],
  maxDelayMs: [0, 60_000, 8000],
});

/**
 * The ingress's TLS certificate (functions/ingress/tls.ts). Without files (and without the
 * MAILBAG_TLS_CERT/MAILBAG_TLS_KEY environment variables) a self-signed certificate for the
 * gateway's hostname is generated and kept in the data directory.
 */
export const tlsSection = z
  .strictObject({
    /** PEM certificate chain, re-read when it changes. */
    certFile: z.string().min(1).optional(),
    /** PEM private key of that certificate, re-read when it changes. */
    keyFile: z.string().min(1).optional(),
    /** Also listen with implicit TLS here (RFC 8314 submissions port, 465), +1 per gateway. */
    implicitPort: int(1, 65535).optional(),
    /** Oldest TLS version accepted; 1.0 and 1.1 are deprecated (RFC 8996). */
    minVersion: z.enum(["TLSv1.2", "TLSv1.3"]).default("TLSv1.2"),
  })
  .refine((t) => !t.certFile === !t.keyFile, {
    message: "certFile and keyFile go together",
    path: ["keyFile"],
  })
  .prefault({});
