/**
 * The SMTP ingress's own settings (functions/ingress/): size, recipient, hop and connection
 * limits, the AUTH guessing defence and the TLS certificate. Kept in their own file, as the
 * `aws` section is (config-aws.ts), so the ingress can grow without touching the address map.
 */
import { z } from "zod";

const DEFAULT_LIMITS = {
  maxMessageBytes: 50 * 1024 * 1024,
  maxRecipients: 100,
  maxHops: 100,
  maxConnections: 500,
  maxConnectionsPerClient: 20,
  maxSessionSeconds: 1800,
  greetingDelayMs: 100,
};

const DEFAULT_AUTH = {
  maxFailuresPerClient: 5,
  maxFailuresPerUser: 20,
  lockoutSeconds: 900,
  failureDelayMs: 500,
  maxDelayMs: 8000,
};

export const limitsSection = z
  .strictObject({
    /** Advertised in EHLO SIZE and enforced while DATA streams (RFC 1870). */
    maxMessageBytes: z
      .number()
      .int()
      .min(1024)
      .default(50 * 1024 * 1024),
    /** RFC 5321 §4.5.3.1.8: at least 100 must be accepted. */
    maxRecipients: z.number().int().min(100).max(1000).default(100),
    /**
     * A message that arrives with this many Received: fields is refused (routingLoop)
     * (RFC 5321 §6.3: "normally at least 100"; docs/routing.md#loops).
     */
    maxHops: z.number().int().min(10).max(1000).default(100),
    /** Open SMTP connections of one ingress; the next one gets 421 (connectionLimit). */
    maxConnections: z.number().int().min(1).max(100_000).default(DEFAULT_LIMITS.maxConnections),
    /** Open SMTP connections from one client address. */
    maxConnectionsPerClient: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(DEFAULT_LIMITS.maxConnectionsPerClient),
    /**
     * Total lifetime of one SMTP session, however busy: the idle timeout alone lets a client
     * keep a connection forever by trickling bytes. Then 421 (connectionLimit) and disconnect.
     */
    maxSessionSeconds: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .default(DEFAULT_LIMITS.maxSessionSeconds),
    /**
     * Pause before the 220 greeting; a client that talks first is refused as an early talker
     * (RFC 5321 §4.3.1 says a client waits for the greeting). smtp-server's fixed 100 ms,
     * patched into a setting (patches/smtp-server+*.patch); 0 for trusted senders and benches.
     */
    greetingDelayMs: z.number().int().min(0).max(30_000).default(DEFAULT_LIMITS.greetingDelayMs),
  })
  .default(DEFAULT_LIMITS);

/** SMTP AUTH guessing defence (functions/ingress/server.ts, core/auth-guard.ts). */
export const authSection = z
  .strictObject({
    maxFailuresPerClient: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(DEFAULT_AUTH.maxFailuresPerClient),
    maxFailuresPerUser: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(DEFAULT_AUTH.maxFailuresPerUser),
    lockoutSeconds: z.number().int().min(1).max(86_400).default(DEFAULT_AUTH.lockoutSeconds),
    failureDelayMs: z.number().int().min(0).max(60_000).default(DEFAULT_AUTH.failureDelayMs),
    maxDelayMs: z.number().int().min(0).max(60_000).default(DEFAULT_AUTH.maxDelayMs),
  })
  .default(DEFAULT_AUTH);

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
    implicitPort: z.number().int().min(1).max(65535).optional(),
    /** Oldest TLS version accepted; 1.0 and 1.1 are deprecated (RFC 8996). */
    minVersion: z.enum(["TLSv1.2", "TLSv1.3"]).default("TLSv1.2"),
  })
  .refine((t) => !t.certFile === !t.keyFile, {
    message: "certFile and keyFile go together",
    path: ["keyFile"],
  })
  .default({ minVersion: "TLSv1.2" });
