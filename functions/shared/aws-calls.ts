/**
 * Counts the AWS calls this process makes, by part (ingress, route, deliver) and operation, with
 * an SDK middleware: `npm run bench` prints them per relayed message, so a new call on the
 * critical path shows up as a number, not as a slower bench
 * (https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/middleware.html).
 * The part comes from AsyncLocalStorage: the local runner runs each queue's loop in its role,
 * the ingress's store and queue run their calls as "ingress"; anything else is "other"
 * (provisioning, queue URL lookups).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { writeFileSync } from "node:fs";
import type { MiddlewareStack } from "@smithy/types";

const part = new AsyncLocalStorage<string>();
const counts = new Map<string, number>();

/** Runs `fn` with its AWS calls (and those of everything it starts) counted under `name`. */
export function inPart<T>(name: string, fn: () => T): T {
  return part.run(name, fn);
}

/** The same object with every method's calls counted under `name`. */
export function countedAs<T extends object>(name: string, target: T): T {
  const wrapped = { ...target } as Record<string, unknown>;
  for (const [key, value] of Object.entries(target)) {
    if (typeof value === "function")
      wrapped[key] = (...args: unknown[]) => part.run(name, () => value.apply(target, args));
  }
  return wrapped as T;
}

// biome-ignore lint/suspicious/noExplicitAny: any SDK client's stack (S3, SQS, SES) has this shape.
export function countCalls(client: { middlewareStack: MiddlewareStack<any, any> }): void {
  client.middlewareStack.add(
    (next, context) => (args) => {
      const service = String(context.clientName ?? "").replace(/Client$/, "");
      const op = String(context.commandName ?? "").replace(/Command$/, "");
      const key = `${part.getStore() ?? "other"} ${service}.${op}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return next(args);
    },
    // One count per call as the code made it, before the SDK's own retries.
    { step: "initialize", name: "mailbagCallCounter", override: true },
  );
}

/** `{"deliver S3.GetObject": 2001, ...}` so far. */
export function awsCallCounts(): Record<string, number> {
  return Object.fromEntries(counts);
}

/** Writes the counts to MAILBAG_AWS_CALLS_FILE, when set (the bench reads them after a run). */
export function saveAwsCallCounts(env: NodeJS.ProcessEnv = process.env): void {
  const file = env.MAILBAG_AWS_CALLS_FILE;
  if (file) writeFileSync(file, `${JSON.stringify(awsCallCounts(), null, 1)}\n`);
}
