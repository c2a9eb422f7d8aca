/**
 * Where the embedded emulator keeps S3 objects under its data directory (functions/local/
 * emulator.ts): in its SQLite database, so a stored object survives a restart without a file
 * of its own (creating files was most of its CPU, docs/benchmarks.md); a data directory made by
 * an earlier version, with its objects as files under `s3/`, keeps that layout, so the mail
 * waiting there is still there after the upgrade.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { startEmulator } from "../../functions/local/emulator.ts";

process.env.MAILBAG_LOG ??= "silent";

const root = mkdtempSync(join(tmpdir(), "mailbag-emu-storage-"));
after(() => rmSync(root, { recursive: true, force: true }));
const credentials = { accessKeyId: "MBLOCALTEST", secretAccessKey: "local-secret-for-tests" };

/** Stores an object, stops the emulator, starts it again on the same directory, reads it back. */
async function storeAndRestart(dataDir: string): Promise<string> {
  const client = (endpoint: string) =>
    new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials });
  const first = await startEmulator({ dataDir, credentials });
  await client(first.endpoint).send(new CreateBucketCommand({ Bucket: "mailbag" }));
  await client(first.endpoint).send(
    new PutObjectCommand({ Bucket: "mailbag", Key: "messages/a.eml", Body: "stored mail" }),
  );
  await first.stop();
  const second = await startEmulator({ dataDir, credentials });
  try {
    const res = await client(second.endpoint).send(
      new GetObjectCommand({ Bucket: "mailbag", Key: "messages/a.eml" }),
    );
    return (await res.Body?.transformToString()) ?? "";
  } finally {
    await second.stop();
  }
}

/** Every file below `dir`, relative. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

test("a new data directory: objects survive a restart, with no file of their own", async () => {
  const dataDir = join(root, "new");
  assert.equal(await storeAndRestart(dataDir), "stored mail");
  assert.equal(existsSync(join(dataDir, "s3")), false);
  const all = files(dataDir);
  assert.ok(all.length > 0, "the emulator wrote its state");
  assert.deepEqual(
    all.filter((f) => f.includes("a.eml")),
    [],
    `no per-object file: ${all.join(", ")}`,
  );
});

test("a data directory with objects under s3/ (an earlier version's) keeps that layout", async () => {
  const dataDir = join(root, "old");
  mkdirSync(join(dataDir, "s3"), { recursive: true });
  assert.equal(await storeAndRestart(dataDir), "stored mail");
  assert.ok(
    files(join(dataDir, "s3")).some((f) => f.endsWith("a.eml.data")),
    "the object is a file under s3/",
  );
});
