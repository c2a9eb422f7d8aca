#!/usr/bin/env node
// The `mailbag` command. The CLI is TypeScript run by Node's type stripping (Node >= 22.18);
// on an older Node this re-runs it under the project's pinned Node 24 (the `node` devDependency)
// as a child process, and passes every stop signal on to it: a service manager that stops the
// wrapper (SIGTERM) must stop the gateway too, never leave it running and listening.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "cli", "mailbag.ts");
if (process.features.typescript) {
  await import(cli);
} else {
  const pinned = join(root, "node_modules", "node", "bin", "node");
  if (!existsSync(pinned)) {
    console.error("mailbag: needs Node >= 22.18 or `npm ci` in", root);
    process.exit(2);
  }
  const child = spawn(pinned, [cli, ...process.argv.slice(2)], { stdio: "inherit" });
  const signals = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];
  const forward = (signal) => child.kill(signal);
  for (const s of signals) process.on(s, forward);
  child.on("error", (err) => {
    console.error(`mailbag: cannot run ${pinned}: ${err.message}`);
    process.exit(2);
  });
  child.on("exit", (code, signal) => {
    for (const s of signals) process.off(s, forward);
    // Die of the same signal, so the caller sees what the gateway saw.
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
