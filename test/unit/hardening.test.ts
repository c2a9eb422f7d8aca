/**
 * Issue 11 where no socket is needed: the AUTH guard's arithmetic (with a clock we move), the
 * MAIL/RCPT parameter rules, config validation of ports, URLs and the new sections, SigV4
 * verification of the emulator, the TLS material from the environment.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SignatureV4 } from "@smithy/signature-v4";
import { generate } from "selfsigned";
import { AuthGuard } from "../../core/auth-guard.ts";
import { type ConfigInput, parseConfig } from "../../core/config.ts";
import { ConfigError, MailbagError, StartupError } from "../../core/errors.ts";
import { checkParameters, KNOWN_PARAMETERS } from "../../core/smtp-params.ts";
import { isClientGone } from "../../functions/ingress/server.ts";
import { loadTls } from "../../functions/ingress/tls.ts";
import { verifySignature } from "../../functions/local/signed-requests.ts";
import { NodeSha256 } from "../../functions/shared/sha256.ts";
import { rawConfig } from "../helpers/routing-fixtures.ts";

describe("AUTH guard", () => {
  const settings = {
    maxFailuresPerClient: 5,
    maxFailuresPerUser: 8,
    lockoutSeconds: 600,
    failureDelayMs: 500,
    maxDelayMs: 4000,
  };

  test("a client's delay doubles with each failure, capped, then it is locked out", () => {
    let now = 0;
    const guard = new AuthGuard(settings, () => now);
    const delays: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const a = guard.admit("192.0.2.1", "u");
      delays.push(a.locked ? "locked" : a.delayMs);
      guard.failed("192.0.2.1", "u");
      now += 1000;
    }
    assert.deepEqual(delays, [0, 500, 1000, 2000, 4000]);
    const locked = guard.admit("192.0.2.1", "u");
    assert.equal(locked.locked, true);
    assert.equal(locked.locked && locked.by, "client");
    now += 601_000;
    assert.equal(guard.admit("192.0.2.1", "u").locked, false, "the lockout ends");
  });

  test("a clean address is never delayed or locked, whatever other addresses did to the user", () => {
    let now = 0;
    const guard = new AuthGuard(settings, () => now);
    for (let i = 0; i < 20; i++) {
      guard.failed(`198.51.100.${i}`, "victim");
      now += 10;
    }
    assert.deepEqual(guard.admit("203.0.113.9", "victim"), { locked: false, delayMs: 0 });
    // An address that failed once before is locked while the user is under attack.
    const failedBefore = guard.admit("198.51.100.3", "victim");
    assert.equal(failedBefore.locked && failedBefore.by, "user");
  });

  test("success clears the client's count; failures are forgotten after the lockout period", () => {
    let now = 0;
    const guard = new AuthGuard(settings, () => now);
    guard.failed("192.0.2.7", "u");
    guard.succeeded("192.0.2.7");
    assert.deepEqual(guard.admit("192.0.2.7", "u"), { locked: false, delayMs: 0 });
    guard.failed("192.0.2.8", "w");
    now += 601_000;
    assert.deepEqual(guard.admit("192.0.2.8", "w"), { locked: false, delayMs: 0 });
  });
});

describe("MAIL/RCPT parameters (RFC 5321 §4.1.1.11, §4.1.2)", () => {
  const reply = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof MailbagError);
      return `${err.responseCode} ${err.enhancedCode}`;
    }
    return "ok";
  };

  test("known parameters pass, unknown ones get 555 5.5.4, malformed ones 501 5.5.4", () => {
    assert.ok(KNOWN_PARAMETERS.MAIL.length > 0);
    for (const k of KNOWN_PARAMETERS.MAIL)
      assert.equal(
        reply(() => checkParameters("MAIL", { [k]: "X" })),
        "ok",
      );
    assert.equal(
      reply(() => checkParameters("MAIL", false)),
      "ok",
    );
    assert.equal(
      reply(() => checkParameters("MAIL", { FOO: "BAR" })),
      "555 5.5.4",
    );
    // RFC 3461 DSN: NOTIFY/ORCPT are RCPT parameters, not MAIL ones.
    assert.equal(
      reply(() => checkParameters("RCPT", { NOTIFY: "NEVER", ORCPT: "rfc822;a@b.test" })),
      "ok",
    );
    assert.equal(
      reply(() => checkParameters("MAIL", { NOTIFY: "NEVER" })),
      "555 5.5.4",
    );
    assert.equal(
      reply(() => checkParameters("RCPT", { "<B@X.TEST>": true })),
      "501 5.5.4",
    );
    assert.equal(
      reply(() => checkParameters("MAIL", { SIZE: "1=2" })),
      "501 5.5.4",
    );
  });
});

describe("config validation", () => {
  function error(change: (c: ConfigInput) => void, env = {}): string {
    const raw = rawConfig("mailbag.config.json");
    change(raw);
    try {
      parseConfig(raw, env);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.reason;
    }
    return "accepted";
  }

  test("smart host URLs are parsed: a port out of 1-65535 is refused naming the field", () => {
    assert.match(
      error((c) => (c.smartHost = { url: "smtp://127.0.0.1:99999" })),
      /^smartHost\.url: port 99999/,
    );
    assert.match(
      error((c) => (c.smartHost = { url: "smtp://127.0.0.1:0" })),
      /^smartHost\.url: port 0/,
    );
    assert.match(
      error(() => {}, { MAILBAG_SMART_HOST: "smtp://h:70000" }),
      /^MAILBAG_SMART_HOST: port 70000/,
    );
    assert.equal(
      error((c) => (c.smartHost = { url: "smtp://127.0.0.1:2526" })),
      "accepted",
    );
  });

  test("ports are 1-65535; tls certFile needs keyFile; limits and auth are checked", () => {
    assert.match(
      error((c) => Object.assign(c.gateways[0] as object, { port: 0 })),
      /^gateways\[0\]\.port/,
    );
    assert.match(
      error((c) => (c.tls = { implicitPort: 65536 })),
      /^tls\.implicitPort/,
    );
    assert.match(
      error((c) => (c.tls = { certFile: "a.pem" })),
      /^tls\.keyFile: certFile and keyFile go together/,
    );
    assert.match(
      error((c) => (c.limits = { maxConnections: 0 })),
      /^limits\.maxConnections/,
    );
    assert.match(
      error((c) => (c.auth = { lockoutSeconds: -1 })),
      /^auth\.lockoutSeconds/,
    );
    assert.match(
      error((c) => (c.auth = { guesses: 3 } as never)),
      /^auth: .*guesses/,
    );
  });

  test("defaults: limits on connections, an AUTH lockout, TLS 1.2 or newer", () => {
    const c = parseConfig(rawConfig("mailbag.config.json"), {});
    assert.equal(c.limits.maxConnections, 500);
    assert.equal(c.limits.maxConnectionsPerClient, 20);
    assert.equal(c.limits.maxSessionSeconds, 1800);
    assert.equal(c.auth.maxFailuresPerClient, 5);
    assert.equal(c.tls.minVersion, "TLSv1.2");
  });
});

describe("emulator request signatures (SigV4)", () => {
  const credentials = { accessKeyId: "MBLOCALUNIT", secretAccessKey: "s3cr3t" };
  async function signed(secret: string, date: Date) {
    const signer = new SignatureV4({
      credentials: { ...credentials, secretAccessKey: secret },
      region: "us-east-1",
      service: "s3",
      sha256: NodeSha256,
      uriEscapePath: false,
    }).sign(
      {
        method: "GET",
        protocol: "http:",
        hostname: "127.0.0.1",
        port: 4577,
        path: "/mailbag/messages/a%20b.eml",
        query: { "x-id": "GetObject" },
        headers: { host: "127.0.0.1:4577" },
      },
      { signingDate: date },
    );
    const r = await signer;
    return {
      method: "GET",
      url: "/mailbag/messages/a%20b.eml?x-id=GetObject",
      headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v])),
    };
  }

  test("the right secret passes; another secret, no signature or a stale date do not", async () => {
    const now = new Date();
    assert.deepEqual(
      await verifySignature(await signed("s3cr3t", now), credentials, undefined, now),
      { ok: true },
    );
    const wrong = await verifySignature(await signed("guess", now), credentials, undefined, now);
    assert.equal(wrong.ok || wrong.code, "SignatureDoesNotMatch");
    const anonymous = await verifySignature({ method: "GET", url: "/", headers: {} }, credentials);
    assert.equal(anonymous.ok || anonymous.code, "AccessDenied");
    const stale = await verifySignature(
      await signed("s3cr3t", new Date(now.getTime() - 3_600_000)),
      credentials,
      undefined,
      now,
    );
    assert.equal(stale.ok || stale.code, "RequestTimeTooSkewed");
  });
});

describe("TLS material", () => {
  test("MAILBAG_TLS_CERT/MAILBAG_TLS_KEY win; a key that does not match is one StartupError", async () => {
    const a = await generate([{ name: "commonName", value: "a.test" }], { keySize: 2048 });
    const b = await generate([{ name: "commonName", value: "b.test" }], { keySize: 2048 });
    const env = { MAILBAG_TLS_CERT: a.cert, MAILBAG_TLS_KEY: a.private };
    const material = await loadTls({
      env,
      hostname: "gw.test",
      settings: { certFile: "/nonexistent" },
    });
    assert.equal(material.cert, a.cert);
    assert.match(material.source, /MAILBAG_TLS_CERT/);
    await assert.rejects(
      loadTls({
        env: { MAILBAG_TLS_CERT: a.cert, MAILBAG_TLS_KEY: b.private },
        hostname: "gw.test",
      }),
      (err) => err instanceof StartupError && /MAILBAG_TLS_CERT: unusable/.test(err.message),
    );
    await assert.rejects(
      loadTls({ env: { MAILBAG_TLS_CERT: a.cert }, hostname: "gw.test" }),
      StartupError,
    );
  });
});

test("client resets are routine (info), other server errors are not", () => {
  assert.equal(
    isClientGone(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })),
    true,
  );
  assert.equal(isClientGone(Object.assign(new Error("x"), { code: "EMFILE" })), false);
});
