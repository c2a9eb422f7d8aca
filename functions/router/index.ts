/** Router Lambda: SQS FIFO route queue → inbound mailbags / delivery queue. */
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { parseJson, parseRouteJob } from "../../core/envelope.ts";
import { routeMessage } from "../../core/router.ts";
import { log } from "../shared/log.ts";
import { fifoBatch, type RuntimeContext, withRuntime } from "../shared/middleware.ts";

export const handler = middy<SQSEvent, SQSBatchResponse, Error, RuntimeContext>()
  .use(withRuntime())
  .handler(
    fifoBatch("route", async (record, runtime) => {
      const job = parseRouteJob(parseJson("route job", record.body));
      const outcome = await routeMessage(runtime.routerDeps(job.gateway), job);
      log.info(outcome.kind === "abandoned" ? "route-abandoned" : "routed", {
        id: job.id,
        ...outcome,
      });
    }),
  );
