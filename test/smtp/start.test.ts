/**
 * A robust start (issue 11): a bad smart host URL or a port in use is one line and exit 2,
 * never a stack trace or a hang; the bin wrapper passes SIGTERM on, so the gateway it re-ran
 * under the pinned Node stops with it and frees its port.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

const ROOT = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "mailbag-start-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function configFile(change: (c: Record<string, unknown>) => void = () => {}): string {
  const c = JSON.parse(readFileSync(join(ROOT, "mailbag.config.json"), "utf8"));
  c.prefix = `t${Date.now().toString(36)}`;
  change(c);
  const file = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(c));
  return file;
}

const env = { ...process.env, MAILBAG_LOG: "silent", MAILBAG_SMART_HOST: "" };

test("smtp://127.0.0.1:99999 as smart host: one line naming the field, exit 2", () => {
  const file = configFile((c) => {
    c.smartHost = { url: "smtp://127.0.0.1:99999" };
  });
  const r = spawnSync(
    process.execPath,
    ["cli/mailbag.ts", "start", "-c", file, "--data-dir", join(dir, "d1")],
    {
      cwd: ROOT,
      env,
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /smartHost\.url: port 99999 is not in 1-65535/);
});

test("an SMTP port in use: one line naming the port, exit 2, no stack, no hang", async () => {
  const blocker = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => blocker.once("listening", r));
  const port = (blocker.address() as { port: number }).port;
  const r = spawnSync(
    process.execPath,
    [
      "cli/mailbag.ts",
      "start",
      "-c",
      configFile(),
      "--port",
      String(port),
      "--emulator-port",
      "0",
      "--data-dir",
      join(dir, "d2"),
    ],
    { cwd: ROOT, env, encoding: "utf8", timeout: 60_000 },
  );
  blocker.close();
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`SMTP port 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});

test("SIGTERM to the bin wrapper (re-running under the pinned Node) stops the gateway: port freed", async () => {
  // Without type stripping the wrapper takes its re-run path, as on Node < 22.18.
  const wrapper = spawn(
    process.execPath,
    [
      "--no-experimental-strip-types",
      "bin/mailbag.js",
      "start",
      "-c",
      configFile(),
      "--port",
      "0",
      "--emulator-port",
      "0",
      "--data-dir",
      join(dir, "d3"),
    ],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    wrapper.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      // The last banner line: from here on the gateway stops gracefully on SIGTERM.
      const m = /SMTP on 127\.0\.0\.1:(\d+)[\s\S]*Ctrl-C to stop/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    wrapper.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
    // Not a timing assertion: a start that never finishes must not hang the suite.
    setTimeout(() => {
      wrapper.kill("SIGKILL");
      reject(new Error(`no banner within 120 s: ${out}`));
    }, 120_000).unref();
  });
  const reachable = (p: number) =>
    new Promise<boolean>((resolve) => {
      const s = connect(p, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
  assert.equal(await reachable(port), true);
  wrapper.kill("SIGTERM");
  const [code] = await new Promise<[number | null, string | null]>((resolve) =>
    wrapper.once("exit", (c, s) => resolve([c, s])),
  );
  assert.equal(code, 0, out);
  assert.match(out, /mailbag: stopped/);
  assert.equal(await reachable(port), false, "nothing listens on the SMTP port any more");
});
