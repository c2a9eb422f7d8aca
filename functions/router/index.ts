/** Router Lambda: SQS FIFO route queue → inbound mailbags / delivery queue, a batch at a time. */
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { parseJson, parseRouteJob, type RouteJob } from "../../core/envelope.ts";
import { routeBatch } from "../../core/route-message.ts";
import { EVENTS, metric } from "../shared/events.ts";
import { describeError, log } from "../shared/log.ts";
import { type RuntimeContext, settleFailure, withRuntime } from "../shared/middleware.ts";

export const handler = middy<SQSEvent, SQSBatchResponse, Error, RuntimeContext>()
  .use(withRuntime())
  .handler(async (event, context) => {
    const jobs: RouteJob[] = [];
    let failure: unknown;
    try {
      for (const r of event.Records) jobs.push(parseRouteJob(parseJson("route job", r.body)));
    } catch (err) {
      failure = err;
    }
    // A route queue is one gateway's, one FIFO group: from the first failure on, all is retried.
    const gateway = jobs[0]?.gateway;
    const firstReceive = event.Records.map((r) => r.attributes.ApproximateReceiveCount === "1");
    const results = gateway
      ? await routeBatch(context.runtime.routerDeps(gateway), jobs, firstReceive)
      : [];
    for (const [i, r] of results.entries()) {
      if (!r.ok) failure = r.error;
      else {
        const id = jobs[i]?.id;
        log.info(r.outcome.kind === "abandoned" ? "route-abandoned" : EVENTS.routed, {
          id,
          gateway,
          ...r.outcome,
        });
        if (r.outcome.kind === "routed" && gateway) metric(gateway, { Routed: 1 });
        if (r.outcome.kind === "routed" && r.outcome.report?.kind === "failed")
          log.error("report-failed", { id, error: r.outcome.report.error });
      }
    }
    const done = results.filter((r) => r.ok).length;
    let failed = event.Records.slice(done);
    if (failed[0]) {
      log.warn("route-failed", {
        id: jobs[done]?.id,
        messageId: failed[0].messageId,
        ...describeError(failure),
      });
      // A poison job (unreadable, or failing maxReceiveCount times) goes to the dead-letter
      // queue with an error log line; the jobs behind it are routed again, in order.
      if (await settleFailure(context.runtime, failed[0], failure)) failed = failed.slice(1);
    }
    return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };
  });
