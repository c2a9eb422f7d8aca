#!/usr/bin/env node
// The `mailbag` command. The CLI is TypeScript run by Node's type stripping (Node >= 22.18);
// on an older Node this re-runs it under the project's pinned Node 24 (the `node` devDependency).
import { spawnSync } from "node:child_process";
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
  const r = spawnSync(pinned, [cli, ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
