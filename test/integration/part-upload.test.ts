/**
 * The ingress's upload (functions/shared/part-upload.ts) against the backend: bodies of every
 * size class (empty, one PutObject, one part, exactly one part, several parts) arrive intact
 * from irregular chunks; a body that errors leaves no object.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { CreateBucketCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { type AwsClients, createAwsClients } from "../../functions/shared/aws.ts";
import { PART_SIZE, uploadStream } from "../../functions/shared/part-upload.ts";
import { s3Store } from "../../functions/shared/s3-store.ts";
import { type Backend, startBackend, uniquePrefix } from "../helpers/network.ts";

let backend: Backend;
let clients: AwsClients;
const bucket = `${uniquePrefix()}-upload`;

before(async () => {
  backend = await startBackend();
  clients = createAwsClients({ endpoint: backend.endpoint, region: "us-east-1" });
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
after(() => backend.stop());

/** `bytes` of a repeatable pattern, in chunks of irregular sizes (as a socket delivers them). */
function body(bytes: number, fail = false): { stream: Readable; sha256: string } {
  const all = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) all[i] = (i * 31 + (i >> 9)) & 0xff;
  const chunks: Buffer[] = [];
  for (let at = 0, n = 1; at < bytes; at += n, n = (n * 7 + 13) % 70_000 || 1)
    chunks.push(all.subarray(at, Math.min(bytes, at + n)));
  async function* gen() {
    for (const [i, c] of chunks.entries()) {
      if (fail && i === chunks.length - 1) throw new Error("client went away");
      yield c;
    }
  }
  return { stream: Readable.from(gen()), sha256: createHash("sha256").update(all).digest("hex") };
}

const target = (key: string) => ({ Bucket: bucket, Key: key, ContentType: "message/rfc822" });

async function stored(key: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const c of await s3Store(clients.s3, bucket).getStream(key)) hash.update(c as Buffer);
  return hash.digest("hex");
}

describe("part upload", () => {
  const sizes = [0, 1_000, 300_000, PART_SIZE, 2 * PART_SIZE + 7];
  for (const size of sizes) {
    test(`${size} bytes arrive intact`, async () => {
      const b = body(size);
      await uploadStream(clients.s3, target(`m-${size}.eml`), b.stream);
      assert.equal(await stored(`m-${size}.eml`), b.sha256);
    });
  }

  test("a body that errors rejects and leaves no object", async () => {
    for (const size of [1_000, PART_SIZE + 10]) {
      const key = `broken-${size}.eml`;
      await assert.rejects(
        uploadStream(clients.s3, target(key), body(size, true).stream),
        /went away/,
      );
      await assert.rejects(clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
    }
  });
});
