/**
 * The ingress's certificate (issue 11), checked by clients that verify it: the generated one for
 * the gateway's hostname (never smtp-server's CN=localhost demo), a configured one signed by a
 * test CA and replaced on disk while running, TLS >= 1.2, implicit TLS.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { generate } from "selfsigned";
import { type PartitionableRig, startPartitionable, testConfig } from "../helpers/network.ts";
import { SmtpSession } from "../helpers/smtp-session.ts";

const HOST = "msmailgwy.company.test";
const dir = mkdtempSync(join(tmpdir(), "mailbag-tls-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** STARTTLS with a client that verifies against `ca` for the gateway's hostname. */
async function starttlsPeer(port: number, ca: string) {
  const s = await SmtpSession.open(port);
  await s.reply();
  await s.command("EHLO client.test");
  const secure = await s.starttls({ ca, servername: HOST, rejectUnauthorized: true });
  const peer = secure.getPeerX509Certificate();
  const protocol = secure.getProtocol();
  s.close();
  return { peer, protocol };
}

describe("without a configured certificate", () => {
  let rig: PartitionableRig;
  let generated: string;
  before(async () => {
    rig = await startPartitionable(testConfig("smtp://127.0.0.1:9"), {
      ingress: true,
      route: false,
      deliver: false,
    });
    // The generated certificate is self-signed: the client that trusts it is given it as its CA.
    const s = await SmtpSession.open(rig.gw.port());
    await s.reply();
    await s.command("EHLO client.test");
    const secure = await s.starttls({ rejectUnauthorized: false, servername: HOST });
    generated = secure.getPeerX509Certificate()?.toString() ?? "";
    s.close();
  });
  after(() => rig?.stop());

  test("STARTTLS presents a certificate for the gateway's hostname that verifies, not CN=localhost", async () => {
    const { peer, protocol } = await starttlsPeer(rig.gw.port(), generated);
    assert.equal(peer?.subject, `CN=${HOST}`);
    assert.equal(peer?.checkHost(HOST), HOST);
    assert.ok(new Date(peer?.validTo ?? 0) > new Date(), "not expired");
    assert.match(protocol ?? "", /^TLSv1\.[23]$/);
  });

  test("a TLS 1.1 client is refused", async () => {
    const s = await SmtpSession.open(rig.gw.port());
    await s.reply();
    await s.command("EHLO client.test");
    await assert.rejects(
      // SECLEVEL=0: the client itself would allow TLS 1.1, so only the server can refuse it.
      s.starttls({
        rejectUnauthorized: false,
        maxVersion: "TLSv1.1",
        minVersion: "TLSv1",
        ciphers: "DEFAULT@SECLEVEL=0",
      }),
    );
    s.close();
  });
});

describe("with a configured certificate (files)", () => {
  let rig: PartitionableRig;
  let ca: { cert: string; private: string };
  const certFile = join(dir, "gw.crt");
  const keyFile = join(dir, "gw.key");

  async function issue(serialHint: string): Promise<string> {
    const leaf = await generate(
      [
        { name: "commonName", value: HOST },
        { name: "organizationName", value: serialHint },
      ],
      {
        keySize: 2048,
        ca: { key: ca.private, cert: ca.cert },
        extensions: [
          { name: "basicConstraints", cA: false },
          { name: "subjectAltName", altNames: [{ type: 2, value: HOST }] },
        ],
      },
    );
    writeFileSync(keyFile, leaf.private);
    writeFileSync(certFile, leaf.cert);
    return new X509Certificate(leaf.cert).fingerprint256;
  }

  before(async () => {
    ca = await generate([{ name: "commonName", value: "Mailbag Test CA" }], {
      keySize: 2048,
      extensions: [
        { name: "basicConstraints", cA: true },
        { name: "keyUsage", keyCertSign: true, cRLSign: true },
      ],
    });
    await issue("first");
    const config = testConfig("smtp://127.0.0.1:9", (c) => {
      c.tls = { certFile, keyFile, implicitPort: 465 };
    });
    rig = await startPartitionable(config, { ingress: true, route: false, deliver: false });
  });
  after(() => rig?.stop());

  test("STARTTLS verifies against the configured CA; a renewed certificate is served without a restart", async () => {
    const first = await starttlsPeer(rig.gw.port(), ca.cert);
    assert.equal(first.peer?.issuer, "CN=Mailbag Test CA");
    const renewed = await issue("renewed");
    assert.notEqual(first.peer?.fingerprint256, renewed);
    const deadline = Date.now() + 30_000;
    let seen: string | undefined = first.peer?.fingerprint256;
    while (seen !== renewed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      seen = (await starttlsPeer(rig.gw.port(), ca.cert)).peer?.fingerprint256;
    }
    assert.equal(seen, renewed);
  });

  test("implicit TLS (RFC 8314) on its own port greets inside TLS", async () => {
    const tlsPort = rig.gw.network.gateways[0]?.tlsPort;
    assert.ok(tlsPort);
    const socket = tlsConnect({ port: tlsPort, host: "127.0.0.1", ca: ca.cert, servername: HOST });
    const greeting = await new Promise<string>((resolve, reject) => {
      socket.once("data", (d: Buffer) => resolve(d.toString()));
      socket.once("error", reject);
    });
    assert.equal(socket.authorized, true);
    assert.match(greeting, /^220 /);
    socket.destroy();
  });
});
