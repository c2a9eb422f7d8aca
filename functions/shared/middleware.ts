/** middy plumbing shared by the SQS handlers. */
import type { MiddlewareObj } from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { processFifoBatch } from "../../core/batch.ts";
import { describeError, log } from "./log.ts";
import { lambdaRuntime, type Runtime } from "./runtime.ts";

export interface RuntimeContext extends Context {
  runtime: Runtime;
}

/** Puts the (cold-start cached) runtime on the context before the handler runs. */
export function withRuntime(): MiddlewareObj<SQSEvent, SQSBatchResponse, Error, RuntimeContext> {
  return {
    before: async (request) => {
      request.context.runtime = await lambdaRuntime();
    },
  };
}

/** The body of an SQS handler: FIFO-ordered, partial batch failures, one log line per failure. */
export function fifoBatch(
  name: string,
  processRecord: (record: SQSRecord, runtime: Runtime) => Promise<void>,
): (event: SQSEvent, context: RuntimeContext) => Promise<SQSBatchResponse> {
  return (event, context) =>
    processFifoBatch(
      event.Records,
      (record) => processRecord(record, context.runtime),
      (record, err) =>
        log.warn(`${name}-failed`, { messageId: record.messageId, ...describeError(err) }),
    );
}
