/**
 * Connection limits (issue 11): in total, per client address, and a session's whole lifetime,
 * each answered 421 4.7.0. Clients bind distinct 127.0.0.x addresses so they count separately.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type PartitionableRig, startPartitionable, testConfig } from "../helpers/network.ts";
import { SmtpSession } from "../helpers/smtp-session.ts";

const ingressOnly = { ingress: true, route: false, deliver: false };

/** A rig of its own per limit: no test sees connections another one is still closing. */
function withRig(limits: Record<string, number>) {
  const state: { rig?: PartitionableRig } = {};
  before(async () => {
    const config = testConfig("smtp://127.0.0.1:9", (c) => {
      c.limits = { greetingDelayMs: 0, ...limits };
    });
    state.rig = await startPartitionable(config, ingressOnly);
  });
  after(() => state.rig?.stop());
  return async (localAddress: string) => {
    const s = await SmtpSession.open(state.rig?.gw.port() ?? 0, { localAddress });
    return { s, greeting: (await s.reply()) ?? "(closed)" };
  };
}

describe("connections per client", () => {
  const open = withRig({ maxConnectionsPerClient: 2 });

  test("a third connection from one address gets 421 4.7.0; another address still gets in", async () => {
    const a1 = await open("127.0.0.41");
    const a2 = await open("127.0.0.41");
    const a3 = await open("127.0.0.41");
    const b1 = await open("127.0.0.42");
    assert.match(a1.greeting, /^220 /);
    assert.match(a2.greeting, /^220 /);
    assert.match(a3.greeting, /^421 4\.7\.0 Too many connections from 127\.0\.0\.41/);
    await a3.s.closed;
    assert.match(b1.greeting, /^220 /);
    // The limit counts open connections: once one has closed, the address gets in again.
    a1.s.close();
    await a1.s.closed;
    let again = await open("127.0.0.41");
    for (let i = 0; i < 50 && !again.greeting.startsWith("220"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      again = await open("127.0.0.41");
    }
    assert.match(again.greeting, /^220 /);
    for (const c of [a2, b1, again]) c.s.close();
  });
});

describe("connections in total", () => {
  const open = withRig({ maxConnections: 5 });

  test("the sixth connection gets 421 4.7.0", async () => {
    const sessions = [];
    for (const addr of ["127.0.0.51", "127.0.0.51", "127.0.0.52", "127.0.0.52", "127.0.0.53"])
      sessions.push(await open(addr));
    assert.deepEqual(
      sessions.map((c) => c.greeting.slice(0, 3)),
      ["220", "220", "220", "220", "220"],
    );
    const sixth = await open("127.0.0.54");
    assert.match(sixth.greeting, /^421 4\.7\.0 Too many connections, /);
    for (const c of sessions) c.s.close();
  });
});

describe("session lifetime", () => {
  let rig: PartitionableRig;
  before(async () => {
    const config = testConfig("smtp://127.0.0.1:9", (c) => {
      c.limits = { greetingDelayMs: 0, maxSessionSeconds: 1 };
    });
    rig = await startPartitionable(config, ingressOnly);
  });
  after(() => rig?.stop());

  test("a busy session (a NOOP every 100 ms, so never idle) is ended with 421 4.7.0", async () => {
    const s = await SmtpSession.open(rig.gw.port());
    assert.match((await s.reply()) ?? "", /^220 /);
    let last: string | undefined;
    for (let i = 0; i < 600; i++) {
      last = await s.command("NOOP");
      if (!last?.startsWith("250")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(last ?? "", /^421 4\.7\.0 Session time limit reached/);
    await s.closed;
  });
});
