/**
 * Counts the AWS calls this process makes, by part (ingress, route, deliver, push, intake, and a
 * postoffice's `fetch`/`submit`) and operation, with
 * an SDK middleware: `npm run bench` prints them per relayed message, so a new call on the
 * critical path shows up as a number, not as a slower bench
 * (https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/middleware.html).
 * The part comes from AsyncLocalStorage: the local runner runs each queue's loop in its role,
 * the ingress's store and queue run their calls as "ingress"; anything else is "other"
 * (provisioning, queue URL lookups).
 *
 * With MAILBAG_RECORD_AWS_CALLS=FILE the same middleware also appends one JSON line per call to
 * FILE: the part, its gateway, and the IAM action(s) and resource ARN(s) the call needs
 * (iam-actions.ts). test/least-privilege/iam-simulation.test.ts evaluates every line against
 * that part's policy in the synthesized templates. CI sets it for `npm test` and then runs that
 * simulation over the record (.ci/run).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { appendFileSync, writeFileSync } from "node:fs";
import type { MiddlewareStack } from "@smithy/types";
import { iamRequests } from "./iam-actions.ts";

interface Part {
  readonly name: string;
  /** The gateway whose part this is (the deployed principal is per gateway). */
  readonly gateway?: string | undefined;
  /** A postoffice's own agent (`mailbag fetch`, `submit`): its principal is per postoffice. */
  readonly postoffice?: string | undefined;
}

const part = new AsyncLocalStorage<Part>();
const counts = new Map<string, number>();

/** Runs `fn` with its AWS calls (and those of everything it starts) counted under `name`. */
export function inPart<T>(name: string, fn: () => T, gateway?: string, postoffice?: string): T {
  return part.run({ name, gateway, postoffice }, fn);
}

/**
 * From here on, this async context's AWS calls count under `name`: for a CLI command that is one
 * part as a whole (a postoffice's `mailbag fetch` or `submit`, run as that postoffice's principal).
 */
export function enterPart(name: string, gateway?: string, postoffice?: string): void {
  part.enterWith({ name, gateway, postoffice });
}

/** The same object with every method's calls counted under `name`. */
export function countedAs<T extends object>(name: string, target: T, gateway?: string): T {
  const wrapped = { ...target } as Record<string, unknown>;
  for (const [key, value] of Object.entries(target)) {
    if (typeof value === "function")
      wrapped[key] = (...args: unknown[]) =>
        part.run({ name, gateway }, () => value.apply(target, args));
  }
  return wrapped as T;
}

/**
 * Appends a line to MAILBAG_RECORD_AWS_CALLS (when set) describing a local network: which
 * gateways, of which mode, under which resource prefix. The IAM simulation needs the mode to
 * pick the policy a gateway of that mode is deployed with.
 */
export function recordNetwork(
  prefix: string,
  gateways: readonly { id: string; mode: string }[],
  env: NodeJS.ProcessEnv = process.env,
): void {
  const file = env.MAILBAG_RECORD_AWS_CALLS;
  if (!file) return;
  const line = { network: { prefix, gateways: gateways.map(({ id, mode }) => ({ id, mode })) } };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}

// biome-ignore lint/suspicious/noExplicitAny: any SDK client's stack (S3, SQS, SES) has this shape.
export function countCalls(client: { middlewareStack: MiddlewareStack<any, any> }): void {
  client.middlewareStack.add(
    (next, context) => (args) => {
      const service = String(context.clientName ?? "").replace(/Client$/, "");
      const op = String(context.commandName ?? "").replace(/Command$/, "");
      const current = part.getStore();
      const key = `${current?.name ?? "other"} ${service}.${op}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const file = process.env.MAILBAG_RECORD_AWS_CALLS;
      if (file && current) {
        const line = {
          part: current.name,
          gateway: current.gateway,
          ...(current.postoffice ? { postoffice: current.postoffice } : {}),
          call: `${service}.${op}`,
          requests: iamRequests(service, op, args.input as Record<string, unknown>),
        };
        appendFileSync(file, `${JSON.stringify(line)}\n`);
      }
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
