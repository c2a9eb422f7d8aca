/** MailbagStore over one S3 bucket. */

import type { Readable } from "node:stream";
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { MessageGoneError } from "../../core/errors.ts";
import type { MailbagStore, StoredObject } from "../../core/ports.ts";
import { uploadStream } from "./part-upload.ts";

export function s3Store(s3: S3Client, bucket: string): MailbagStore {
  return {
    async putStream(key, body) {
      // 5 MiB parts, two in flight, reused buffers: ~15 MiB of any message in memory.
      await uploadStream(s3, { Bucket: bucket, Key: key, ContentType: "message/rfc822" }, body);
    },
    async putJson(key, value) {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: JSON.stringify(value),
          ContentType: "application/json",
        }),
      );
    },
    async getJson(key) {
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return JSON.parse((await res.Body?.transformToString("utf8")) ?? "null");
      } catch (err) {
        if (isNoSuchKey(err)) return undefined;
        throw err;
      }
    },
    async getStream(key, range) {
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
        return res.Body as Readable;
      } catch (err) {
        throw isNoSuchKey(err) ? new MessageGoneError(key, { cause: err }) : err;
      }
    },
    async copy(fromKey, toKey) {
      try {
        await s3.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: toKey,
            CopySource: `${bucket}/${encodeURIComponent(fromKey).replace(/%2F/g, "/")}`,
          }),
        );
      } catch (err) {
        // CopyObject's NoSuchKey is always its source's: the destination need not exist.
        throw isNoSuchKey(err) ? new MessageGoneError(fromKey, { cause: err }) : err;
      }
    },
    async list(prefix, options) {
      const objects: StoredObject[] = [];
      let token: string | undefined;
      do {
        const res = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ContinuationToken: token,
            ...(options?.shallow ? { Delimiter: "/" } : {}),
          }),
        );
        for (const o of res.Contents ?? []) {
          objects.push({
            key: o.Key ?? "",
            size: o.Size ?? 0,
            etag: o.ETag ?? "",
            lastModified: o.LastModified ?? new Date(0),
          });
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
      // S3 lists in UTF-8 binary order already; emulators are not all so careful.
      return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async delete(keysToDelete) {
      if (keysToDelete.length === 0) return;
      await s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: keysToDelete.map((Key) => ({ Key })), Quiet: true },
        }),
      );
    },
  };
}

function isNoSuchKey(err: unknown): boolean {
  return err instanceof NoSuchKey || (err as { name?: string }).name === "NoSuchKey";
}
