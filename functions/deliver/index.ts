/**
 * Delivery Lambda: SQS FIFO delivery queue → smart host (or the next gateway), body streamed
 * from the mailbag. The same handler on the push queue delivers to postoffices' own servers.
 */
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { deliverMessage } from "../../core/deliver.ts";
import { parseDeliverJob, parseJson } from "../../core/envelope.ts";
import { log } from "../shared/log.ts";
import { fifoBatch, type RuntimeContext, withRuntime } from "../shared/middleware.ts";

export const handler = middy<SQSEvent, SQSBatchResponse, Error, RuntimeContext>()
  .use(withRuntime())
  .handler(
    fifoBatch("deliver", async (record, runtime) => {
      const job = parseDeliverJob(parseJson("delivery job", record.body));
      const status = await deliverMessage(runtime.deliverDeps(job.gateway, job.postoffice), job);
      log.info("delivered", {
        id: job.id,
        postoffice: job.postoffice,
        recipients: status.recipients,
      });
    }),
  );
