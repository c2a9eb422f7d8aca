/**
 * Outbound mailbag intake Lambda: S3 event notifications (ObjectCreated on `outbound/`, through
 * a standard SQS queue) → the accept path (core/intake.ts). A record that fails for a transient
 * reason is reported and retried by SQS; one that cannot be taken in is moved to rejected/.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
import middy from "@middy/core";
import type { S3Event, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { gatewayOfBucket, intakeLogged } from "../shared/intake.ts";
import type { Runtime } from "../shared/runtime.ts";

/** The intake function serves one gateway (MAILBAG_GATEWAY), whose bucket name is CloudFormation's. */
const gatewayOf = (runtime: Runtime, bucket: string) =>
  process.env.MAILBAG_GATEWAY ?? gatewayOfBucket(runtime, bucket);

import { describeError, log } from "../shared/log.ts";
import { type RuntimeContext, withRuntime } from "../shared/middleware.ts";

export const handler = middy<SQSEvent, SQSBatchResponse, Error, RuntimeContext>()
  .use(withRuntime())
  .handler(async (event, context) => {
    const failures: SQSBatchResponse["batchItemFailures"] = [];
    for (const record of event.Records) {
      try {
        const s3 = (JSON.parse(record.body) as Partial<S3Event>).Records ?? []; // s3:TestEvent has none
        for (const r of s3) {
          await intakeLogged(context.runtime, gatewayOf(context.runtime, r.s3.bucket.name), {
            // Keys arrive URL-encoded, spaces as '+'.
            key: decodeURIComponent(r.s3.object.key.replace(/\+/g, " ")),
            size: r.s3.object.size,
            etag: r.s3.object.eTag,
            lastModified: new Date(r.eventTime),
          });
        }
      } catch (err) {
        log.warn("intake-failed", { messageId: record.messageId, ...describeError(err) });
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  });
