/**
 * AWS clients from the standard configuration (AWS_ENDPOINT_URL, AWS_REGION, the credentials
 * chain), so the same code runs against AWS, LocalStack or the embedded emulator
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
 */
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { countCalls } from "./aws-calls.ts";
import { NodeSha256 } from "./sha256.ts";

export interface AwsSettings {
  /** An emulator's endpoint; undefined means real AWS. */
  readonly endpoint?: string | undefined;
  readonly region: string;
}

export interface AwsClients {
  readonly settings: AwsSettings;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
}

export function awsSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AwsSettings {
  return {
    endpoint: env.AWS_ENDPOINT_URL || undefined,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1",
  };
}

/**
 * The credentials requests to a local endpoint are signed with: the environment's, else
 * LocalStack's conventional test/test. The embedded emulator accepts only these (emulator.ts);
 * `mailbag start` puts generated ones into the environment first.
 */
export function localCredentials(env: NodeJS.ProcessEnv = process.env): {
  accessKeyId: string;
  secretAccessKey: string;
} {
  return env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
    ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY }
    : { accessKeyId: "test", secretAccessKey: "test" };
}

/** Client options every AWS client of the gateway shares (SES's is created only where used). */
export function clientOptions(settings: AwsSettings) {
  const emulator = settings.endpoint
    ? {
        endpoint: settings.endpoint,
        // Real credentials from the chain (a profile, a role) still win when present.
        credentials: process.env.AWS_ACCESS_KEY_ID ? undefined : localCredentials(),
      }
    : {};
  // cacheMiddleware: resolve each command's middleware stack once per client instead of at
  // every call; no call here changes a stack after the first request (see the option's doc in
  // @smithy/core's client.d.ts). Resolving it was the largest single cost of a call (issue 13).
  return {
    region: settings.region,
    maxAttempts: 3,
    cacheMiddleware: true,
    sha256: NodeSha256,
    ...emulator,
  };
}

export function createAwsClients(settings: AwsSettings): AwsClients {
  const common = clientOptions(settings);
  // Path-style: emulators serve no per-bucket virtual hosts on 127.0.0.1.
  const s3 = new S3Client({ ...common, forcePathStyle: settings.endpoint !== undefined });
  const sqs = new SQSClient(common);
  countCalls(s3);
  countCalls(sqs);
  return { settings, s3, sqs };
}
