/**
 * The published directory: the whole config (address map, gateways, smart host) as one JSON
 * object in the directory stack's S3 bucket. Deployed functions read it once per cold start
 * (lambdaRuntime caches the result), so a backbone route to a postoffice served by any other
 * gateway resolves the same way everywhere. The object key carries a hash of its content and the
 * functions are pointed at one exact key: a new directory means a new function configuration, so
 * no warm function keeps an old map after a deploy. Loaded and validated by config-file.ts.
 */
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { ConfigError } from "../../core/errors.ts";

/** `MAILBAG_DIRECTORY=s3://bucket/key`: where the deployed functions find the directory. */
export const DIRECTORY_ENV = "MAILBAG_DIRECTORY";

export interface DirectoryLocation {
  readonly bucket: string;
  readonly key: string;
}

export function parseDirectoryUrl(url: string): DirectoryLocation {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(url);
  if (!m?.[1] || !m[2]) throw new ConfigError(DIRECTORY_ENV, `not an s3://bucket/key URL: ${url}`);
  return { bucket: m[1], key: m[2] };
}

/** The directory object's text, as published. */
export async function fetchDirectory(s3: S3Client, url: string): Promise<string> {
  const { bucket, key } = parseDirectoryUrl(url);
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await res.Body?.transformToString("utf8")) ?? "";
}
