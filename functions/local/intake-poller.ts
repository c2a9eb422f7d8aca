/**
 * The outbound mailbag intake under `mailbag start`: the embedded emulator sends no S3 event
 * notifications, so each gateway's outbound mailbags (`outbound/<PO>/` of the postoffices it
 * sends for) are listed every `intervalMs` instead, and each message object is taken in, one at
 * a time, in key order. On AWS the same step runs in the intake function, woken by S3.
 */
import { keys } from "../../core/names.ts";
import { inPart } from "../shared/aws-calls.ts";
import { intakeLogged } from "../shared/intake.ts";
import { describeError, log } from "../shared/log.ts";
import type { Runtime } from "../shared/runtime.ts";

export interface Poller {
  stop(): Promise<void>;
}

export function startIntakePoller(runtime: Runtime, gatewayId: string, intervalMs = 1000): Poller {
  const { store } = runtime.intakeDeps(gatewayId);
  const postoffices = runtime.config.postoffices
    .filter((po) => runtime.map.senderOf.get(po.id)?.id === gatewayId)
    .map((po) => po.id);
  const controller = new AbortController();
  const loop = (async () => {
    while (!controller.signal.aborted) {
      for (const po of postoffices) {
        try {
          const objects = await store.list(keys.outbound(po), { shallow: true });
          for (const object of objects) {
            if (controller.signal.aborted) break;
            // What the intake function does on AWS; the listing is the local stand-in for S3's
            // notifications, so it is no part's call (aws-calls.ts).
            if (object.key.endsWith(".eml"))
              await inPart("intake", () => intakeLogged(runtime, gatewayId, object), gatewayId);
          }
        } catch (err) {
          log.warn("intake-poll-failed", {
            gateway: gatewayId,
            postoffice: po,
            ...describeError(err),
          });
        }
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, intervalMs);
        controller.signal.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  })();
  return {
    async stop() {
      controller.abort();
      await loop;
    },
  };
}
