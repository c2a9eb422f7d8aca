/**
 * Issue 11 on a real ingress (listen(0)) with real clients: RFC 5321/4954 to the letter, an
 * enhanced status code on every reply, the pipelining wedge, AUTH guessing defence, the
 * Received header's "with" keyword.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { keys } from "../../core/names.ts";
import {
  fixture,
  type PartitionableRig,
  startPartitionable,
  testConfig,
} from "../helpers/network.ts";
import { SmtpSession } from "../helpers/smtp-session.ts";

process.env.MAILBAG_TEST_HARDENING_PASSWORD = "right-pa55";
const PLAIN = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString("base64");
/** STARTTLS against the generated certificate: these tests are about AUTH, not about trust. */
const NO_VERIFY = { rejectUnauthorized: false };

let rig: PartitionableRig;
const port = () => rig.gw.port();

before(async () => {
  const config = testConfig("smtp://127.0.0.1:9", (c) => {
    c.limits = { greetingDelayMs: 0 };
    c.auth = { maxFailuresPerClient: 5, failureDelayMs: 1, maxDelayMs: 8, lockoutSeconds: 600 };
    c.postoffices[1] = {
      id: "SALES",
      domain: "sales.company.test",
      submit: {
        networks: ["10.0.0.0/8"],
        users: [{ username: "sales-app", passwordEnv: "MAILBAG_TEST_HARDENING_PASSWORD" }],
      },
    };
  });
  rig = await startPartitionable(config, { ingress: true, route: false, deliver: false });
});
after(() => rig?.stop());

async function session(localAddress = "127.0.0.1"): Promise<SmtpSession> {
  const s = await SmtpSession.open(port(), { localAddress });
  assert.match((await s.reply()) ?? "", /^220 /);
  assert.match((await s.command("EHLO client.test")) ?? "", /^250/);
  return s;
}

describe("RFC 5321 commands", () => {
  test("RCPT TO:<postmaster> (no domain) gets 250", async () => {
    const s = await session();
    assert.match((await s.command("MAIL FROM:<a@partner.test>")) ?? "", /^250 /);
    assert.match((await s.command("RCPT TO:<postmaster>")) ?? "", /^250 /);
    assert.match((await s.command("RCPT TO:<PostMaster>")) ?? "", /^250 /);
    s.close();
  });

  test("an unknown MAIL or RCPT parameter gets 555 5.5.4; known ones pass", async () => {
    const s = await session();
    assert.match(
      (await s.command("MAIL FROM:<a@b.test> FOO=BAR")) ?? "",
      /^555 5\.5\.4 MAIL parameter FOO not recognized/,
    );
    assert.match(
      (await s.command("MAIL FROM:<a@partner.test> SIZE=100 BODY=8BITMIME")) ?? "",
      /^250 /,
    );
    assert.match(
      (await s.command("RCPT TO:<jsmith@sales.company.test> XYZZY")) ?? "",
      /^555 5\.5\.4 RCPT parameter XYZZY not recognized/,
    );
    s.close();
  });

  test("RCPT TO:<a> <b> is a syntax error (501), not a silently dropped <b>", async () => {
    const s = await session();
    assert.match((await s.command("MAIL FROM:<a@partner.test>")) ?? "", /^250 /);
    assert.match(
      (await s.command("RCPT TO:<a@sales.company.test> <b@sales.company.test>")) ?? "",
      /^501 5\.5\.4 Syntax error in RCPT parameters/,
    );
    s.close();
  });

  test("every reply but the greeting, EHLO and 3xx carries an enhanced status code, once", async () => {
    const s = await session();
    const commands = [
      "NOOP",
      "RSET",
      "VRFY someone",
      "XYZZY",
      "DATA",
      "RCPT TO:<x@sales.company.test>",
      "MAIL FROM:<a@partner.test> SIZE=999999999999",
      "MAIL FROM:<bad address>",
      "MAIL FROM:<a@partner.test>",
      "MAIL FROM:<b@partner.test>",
      "RCPT TO:<no-at-sign>",
      "RCPT TO:<x@nowhere.invalid>",
      "RCPT TO:<jsmith@sales.company.test>",
      "AUTH PLAIN",
      "QUIT",
    ];
    const replies: string[] = [];
    for (const c of commands) replies.push((await s.command(c)) ?? "(closed)");
    assert.equal(replies.length, commands.length);
    for (const [i, r] of replies.entries()) {
      assert.match(r, /^\d{3} [245]\.\d{1,3}\.\d{1,3} /, `${commands[i]} → ${r}`);
      assert.doesNotMatch(r, /^\d{3} [245]\.\d+\.\d+ [245]\.\d+\.\d+ /, `one code: ${r}`);
      assert.equal(r[0], r[4], `class of ${r}`);
    }
  });
});

describe("pipelining", () => {
  test("two whole transactions and QUIT in one packet: both 250s, then 221 (no wedge)", async () => {
    const s = await session();
    const tx = (n: number) =>
      `MAIL FROM:<a@partner.test>\r\nRCPT TO:<jsmith@sales.company.test>\r\nDATA\r\nSubject: ${n}\r\n\r\nbody ${n}\r\n.\r\n`;
    s.write(`${tx(1)}${tx(2)}QUIT\r\n`);
    const replies: string[] = [];
    for (;;) {
      const r = await s.reply();
      if (r === undefined) break;
      replies.push(r);
    }
    // Wedged, the QUIT was never read: the idle timeout ended the session with 421 instead.
    assert.deepEqual(
      replies.map((r) => r.slice(0, 3)),
      ["250", "250", "354", "250", "250", "250", "354", "250", "221"],
      replies.join("\n"),
    );
  });
});

describe("AUTH", () => {
  test("AUTH LOGIN or PLAIN with a response that is not base64 gets 501 5.5.2 (RFC 4954 §4)", async () => {
    const s = await session();
    await s.starttls(NO_VERIFY);
    assert.match((await s.command("EHLO client.test")) ?? "", /^250/);
    assert.match((await s.command("AUTH LOGIN")) ?? "", /^334 /);
    assert.match((await s.command("not*base64!")) ?? "", /^501 5\.5\.2 /);
    assert.match((await s.command("AUTH PLAIN %%%%")) ?? "", /^501 5\.5\.2 /);
    s.close();
  });

  test("20 wrong passwords from one client: 535s, then 454 4.7.0; the right one from another client gets 235", async () => {
    const attacker = await session("127.0.0.21");
    await attacker.starttls(NO_VERIFY);
    await attacker.command("EHLO attacker.test");
    const replies: string[] = [];
    for (let i = 0; i < 20; i++)
      replies.push((await attacker.command(`AUTH PLAIN ${PLAIN("sales-app", `guess${i}`)}`)) ?? "");
    assert.equal(replies.length, 20);
    assert.deepEqual(
      replies.map((r) => r.slice(0, 9)),
      [...Array(5).fill("535 5.7.8"), ...Array(15).fill("454 4.7.0")],
    );
    // Even the right password is refused to the locked-out client...
    assert.match(
      (await attacker.command(`AUTH PLAIN ${PLAIN("sales-app", "right-pa55")}`)) ?? "",
      /^454 4\.7\.0/,
    );
    attacker.close();
    // ...but not to another client.
    const user = await session("127.0.0.22");
    await user.starttls(NO_VERIFY);
    await user.command("EHLO user.test");
    assert.match(
      (await user.command(`AUTH PLAIN ${PLAIN("sales-app", "right-pa55")}`)) ?? "",
      /^235 2\.7\.0/,
    );
    user.close();
  });
});

describe("Received header", () => {
  async function receivedWith(starttls: boolean): Promise<string> {
    const s = await session("127.0.0.31");
    if (starttls) {
      await s.starttls(NO_VERIFY);
      await s.command("EHLO client.test");
    }
    await s.command("MAIL FROM:<a@partner.test>");
    await s.command("RCPT TO:<jsmith@sales.company.test>");
    assert.match((await s.command("DATA")) ?? "", /^354/);
    const done = (await s.command(`${fixture("plain.eml").toString("utf8").trimEnd()}\r\n.`)) ?? "";
    s.close();
    const id = /queued as (\S+)/.exec(done)?.[1] ?? "";
    assert.ok(id, done);
    const stored = (await rig.gw.object(keys.message(id))) ?? "";
    return /^Received: [\s\S]*? with (\S+)/m.exec(stored)?.[1] ?? "";
  }

  test("STARTTLS without AUTH is ESMTPS, not ESMTPSA; plain is ESMTP", async () => {
    assert.equal(await receivedWith(true), "ESMTPS");
    assert.equal(await receivedWith(false), "ESMTP");
  });
});
