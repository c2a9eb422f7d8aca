/**
 * `mailbag start --only ingress --reuse-port`: several ingress processes on one host share the
 * SMTP port (SO_REUSEPORT) and the kernel spreads the connections over them, as the load
 * balancer does over ingress tasks on AWS (functions/ingress/server.ts listen). Without it the
 * second listener is refused with a line naming the port.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { SMTPServer } from "smtp-server";
import { StartupError } from "../../core/errors.ts";
import { drain, listen } from "../../functions/ingress/server.ts";

function counting(): { server: SMTPServer; sessions: () => number } {
  let n = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onConnect(_session, callback) {
      n++;
      callback();
    },
  });
  // As createIngress does: a listen error reaches listen()'s promise, not the process.
  server.on("error", () => {});
  return { server, sessions: () => n };
}

/** Opens a connection, waits for the 220 greeting, says QUIT. */
function greet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("error", reject);
    socket.once("data", (d) => {
      socket.end("QUIT\r\n");
      resolve(d.toString());
    });
  });
}

test("two listeners with reusePort share one port; 40 connections reach both", async () => {
  const a = counting();
  const b = counting();
  const port = await listen(a.server, 0, "127.0.0.1", true);
  assert.equal(await listen(b.server, port, "127.0.0.1", true), port);
  try {
    const greetings = await Promise.all(Array.from({ length: 40 }, () => greet(port)));
    assert.equal(greetings.filter((g) => g.startsWith("220 ")).length, 40);
    assert.equal(a.sessions() + b.sessions(), 40);
    // Spread by the kernel's hash of each connection's source port: all 40 on one listener
    // has a chance of 2^-39.
    assert.ok(a.sessions() > 0 && b.sessions() > 0, `${a.sessions()} + ${b.sessions()}`);
  } finally {
    await Promise.all([drain(a.server), drain(b.server)]);
  }
});

test("without reusePort the second listener on the port is refused, naming it", async () => {
  const a = counting();
  const port = await listen(a.server, 0, "127.0.0.1", true);
  try {
    await assert.rejects(listen(counting().server, port, "127.0.0.1"), (err: unknown) => {
      assert.ok(err instanceof StartupError, String(err));
      assert.match(String(err), new RegExp(`127\\.0\\.0\\.1:${port}.*EADDRINUSE`));
      return true;
    });
  } finally {
    await drain(a.server);
  }
});
