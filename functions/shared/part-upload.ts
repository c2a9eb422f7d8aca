/**
 * Streams a message into one S3 object with a fixed set of reused part buffers: a multipart
 * upload of 5 MiB parts (the S3 minimum), at most two in flight, or one PutObject for a message
 * under 256 KiB (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
 *
 * Why not lib-storage's Upload: it gathers the received chunks of each part and concatenates
 * them into a new 5 MiB buffer per part. Those buffers (and the chunks) become garbage only once
 * their part is uploaded; while the ingress is CPU-starved the uploads are slow, so they outlive
 * a few young-generation collections, are promoted, and are freed only by the next full
 * collection, which V8 starts late (when external memory grew by ~64 MiB). Its RSS growth for a
 * 100 MiB message then went from 36-63 MiB to 76-85 MiB (bench/memory.ts). Here every chunk is
 * copied into a part buffer as it arrives and dies young, and the part buffers are reused, so
 * the memory a message takes does not depend on when the collector runs.
 */
import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";

export const PART_SIZE = 5 * 1024 * 1024;
/** Parts being uploaded at once: the stream waits (backpressure) while this many are. */
export const PARTS_IN_FLIGHT = 2;
/** Messages up to this size are gathered as received and stored with one PutObject. */
const SMALL_BYTES = 256 * 1024;

/** Part buffers of finished parts, for the next part of any upload of this process. */
const pool: Buffer[] = [];
const takeBuffer = (): Buffer => pool.pop() ?? Buffer.allocUnsafeSlow(PART_SIZE);
const giveBack = (b: Buffer): void => {
  if (pool.length <= PARTS_IN_FLIGHT) pool.push(b);
};

export interface UploadTarget {
  readonly Bucket: string;
  readonly Key: string;
  readonly ContentType: string;
}

/** Stores `body` at the target; rejects, leaving no object (the upload aborted), if it errors. */
export async function uploadStream(
  s3: S3Client,
  target: UploadTarget,
  body: Readable,
): Promise<void> {
  let small: Buffer[] = [];
  let smallBytes = 0;
  let part: Buffer | undefined;
  let filled = 0;
  let parts = 0;
  let uploadId: string | undefined;
  const done: { PartNumber: number; ETag: string }[] = [];
  const inFlight = new Set<Promise<void>>();

  const flush = async (buffer: Buffer, length: number): Promise<void> => {
    const PartNumber = ++parts;
    uploadId ??= (await s3.send(new CreateMultipartUploadCommand(target))).UploadId;
    const sent = s3
      .send(
        new UploadPartCommand({
          Bucket: target.Bucket,
          Key: target.Key,
          UploadId: uploadId,
          PartNumber,
          Body: buffer.subarray(0, length),
        }),
      )
      .then((r) => {
        done.push({ PartNumber, ETag: r.ETag ?? "" });
      })
      .finally(() => {
        inFlight.delete(sent);
        giveBack(buffer);
      });
    sent.catch(() => undefined); // raced and awaited below
    inFlight.add(sent);
    while (inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(inFlight);
  };
  const copyIn = async (chunk: Buffer): Promise<void> => {
    let offset = 0;
    while (offset < chunk.length) {
      part ??= takeBuffer();
      const n = Math.min(chunk.length - offset, PART_SIZE - filled);
      chunk.copy(part, filled, offset, offset + n);
      filled += n;
      offset += n;
      if (filled === PART_SIZE) {
        const full = part;
        part = undefined;
        filled = 0;
        await flush(full, PART_SIZE);
      }
    }
  };

  let large = false;
  try {
    for await (const data of body as AsyncIterable<Buffer | string>) {
      const chunk = typeof data === "string" ? Buffer.from(data) : data;
      if (large) {
        await copyIn(chunk);
        continue;
      }
      small.push(chunk);
      smallBytes += chunk.length;
      if (smallBytes < SMALL_BYTES) continue;
      large = true;
      const gathered = small;
      small = [];
      for (const c of gathered) await copyIn(c);
    }
    if (!large) {
      const Body = small.length === 1 && small[0] ? small[0] : Buffer.concat(small, smallBytes);
      await s3.send(new PutObjectCommand({ ...target, Body }));
      return;
    }
    if (part && filled > 0) {
      const last = part;
      part = undefined;
      await flush(last, filled);
    }
    await Promise.all(inFlight);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: target.Bucket,
        Key: target.Key,
        UploadId: uploadId,
        MultipartUpload: { Parts: done.sort((a, b) => a.PartNumber - b.PartNumber) },
      }),
    );
  } catch (err) {
    await Promise.allSettled(inFlight);
    if (uploadId)
      await s3
        .send(
          new AbortMultipartUploadCommand({
            Bucket: target.Bucket,
            Key: target.Key,
            UploadId: uploadId,
          }),
        )
        .catch(() => undefined);
    throw err;
  } finally {
    if (part) giveBack(part);
  }
}
