/**
 * The published directory: the whole config (address map, gateways, smart host) as one JSON
 * object in the directory stack's S3 bucket. Deployed functions read it once per cold start
 * (lambdaRuntime caches the result), so a backbone route to a postoffice served by any other
 * gateway resolves the same way everywhere. The object key carries a hash of its content and the
 * functions are pointed at one exact key: a new directory means a new function configuration, so
 * no warm function keeps an old map after a deploy.
 */
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type Config, jsonSyntaxError, parseConfig } from "../../core/config.ts";
import { unusedPasswords } from "../../core/config-aws.ts";
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

/**
 * Fetches and validates the directory. The functions authenticate no SMTP client, so the submit
 * users' password variables are not needed here (see unusedPasswords).
 */
export async function loadDirectory(
  s3: S3Client,
  url: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Config> {
  const { bucket, key } = parseDirectoryUrl(url);
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = (await res.Body?.transformToString("utf8")) ?? "";
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw jsonSyntaxError(url, text, err);
  }
  return parseConfig(json, { ...unusedPasswords(json), ...env });
}
