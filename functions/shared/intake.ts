/** Taking one outbound mailbag object in, with the log line both the Lambda and the local poller write. */
import { type IntakeOutcome, intakeObject } from "../../core/intake.ts";
import { gatewayResources } from "../../core/names.ts";
import type { StoredObject } from "../../core/ports.ts";
import { log } from "./log.ts";
import type { Runtime } from "./runtime.ts";

/** The gateway whose bucket `bucket` is, by the deterministic names emulators use. */
export function gatewayOfBucket(runtime: Runtime, bucket: string): string | undefined {
  return runtime.config.gateways.find(
    (g) => gatewayResources(runtime.config.prefix, g.id).bucket === bucket,
  )?.id;
}

export async function intakeLogged(
  runtime: Runtime,
  gatewayId: string | undefined,
  object: StoredObject,
): Promise<IntakeOutcome> {
  if (!gatewayId) throw new Error(`${object.key}: in no gateway's mailbag`);
  const outcome = await intakeObject(runtime.intakeDeps(gatewayId), object);
  if (outcome.kind === "accepted") log.info("intake-accepted", { key: object.key, ...outcome });
  else if (outcome.kind === "rejected")
    log.warn("intake-rejected", { key: object.key, ...outcome });
  return outcome;
}
