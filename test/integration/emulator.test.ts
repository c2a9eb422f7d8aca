/**
 * The backend behaves like SQS where the gateway's speed and order depend on it, on the embedded
 * emulator (patched fauxqs, patches/fauxqs+*.patch) and on LocalStack alike:
 * - a receive returns up to ten messages of one FIFO group, in order, and the group stays
 *   locked while any of them is in flight
 *   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html);
 * - messages of a batch made visible again come back in their order, not reversed;
 * - a 250 survives `mailbag start` being killed (SIGKILL, no shutdown) and started again on
 *   the same state (the emulator's SQLite runs WAL with synchronous=NORMAL).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from "@aws-sdk/client-sqs";
import { type AwsClients, createAwsClients } from "../../functions/shared/aws.ts";
import { send } from "../helpers/client.ts";
import { type Backend, startBackend, testConfig, uniquePrefix } from "../helpers/network.ts";
import { type Sink, startSink, waitUntil } from "../helpers/sink.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

describe("FIFO receive semantics", () => {
  let backend: Backend;
  let clients: AwsClients;
  let url: string;

  before(async () => {
    backend = await startBackend();
    clients = createAwsClients({ endpoint: backend.endpoint, region: "us-east-1" });
    const res = await clients.sqs.send(
      new CreateQueueCommand({
        QueueName: `${uniquePrefix()}-order.fifo`,
        Attributes: { FifoQueue: "true", VisibilityTimeout: "30" },
      }),
    );
    url = res.QueueUrl ?? "";
  });
  after(() => backend?.stop());

  const receive = async (): Promise<Message[]> =>
    (
      await clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      )
    ).Messages ?? [];
  const bodies = (ms: Message[]) => ms.map((m) => Number(m.Body));

  test("up to ten of one group per receive, in order; the group is locked while they are in flight", async () => {
    for (const start of [0, 10]) {
      await clients.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: Array.from({ length: 10 }, (_, i) => ({
            Id: String(i),
            MessageBody: String(start + i),
            MessageGroupId: "GW1",
            MessageDeduplicationId: `m${start + i}`,
          })),
        }),
      );
    }
    const first = await receive();
    assert.deepEqual(bodies(first), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(await receive(), [], "group locked while its batch is in flight");

    // The first three are done; the other seven go back (a failed record and those after it).
    const handle = (m: Message) => ({
      Id: m.MessageId ?? "",
      ReceiptHandle: m.ReceiptHandle ?? "",
    });
    await clients.sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: url, Entries: first.slice(0, 3).map(handle) }),
    );
    await clients.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: first.slice(3).map((m) => ({ ...handle(m), VisibilityTimeout: 0 })),
      }),
    );
    const seen: number[] = [];
    await waitUntil(
      async () => {
        const batch = await receive();
        seen.push(...bodies(batch));
        if (batch.length > 0)
          await clients.sqs.send(
            new DeleteMessageBatchCommand({ QueueUrl: url, Entries: batch.map(handle) }),
          );
        return seen.length >= 17;
      },
      30_000,
      () => `the rest in order, got ${seen}`,
    );
    assert.deepEqual(
      seen,
      Array.from({ length: 17 }, (_, i) => i + 3),
    );
  });
});

describe("a 250 survives a killed `mailbag start`", () => {
  let sink: Sink;
  let dir: string;
  before(async () => {
    sink = await startSink();
    dir = mkdtempSync(join(tmpdir(), "mailbag-restart-"));
  });
  after(async () => {
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("SIGKILL right after the 250 with the functions not running; started again, it is delivered once", async () => {
    const configFile = join(dir, "config.json");
    writeFileSync(configFile, JSON.stringify(testConfig(sink.url)));
    const first = await startMailbag(configFile, dir, ["--only", "ingress"]);
    const r = await send({
      port: first.port,
      from: "jsmith@hq.company.test",
      to: "someone@partner.test",
      raw: Buffer.from("Subject: survives\r\n\r\nkilled after the 250\r\n"),
    });
    assert.equal(r.ok, true, r.reply);
    first.child.kill("SIGKILL");
    await new Promise((resolve) => first.child.once("exit", resolve));
    assert.equal(sink.messages.length, 0, "nothing delivered before the restart");

    const second = await startMailbag(configFile, dir, []);
    try {
      await sink.waitFor(1, 30_000);
      assert.match(sink.messages[0]?.raw.toString() ?? "", /killed after the 250/);
    } finally {
      second.child.kill("SIGTERM");
      await new Promise((resolve) => second.child.once("exit", resolve));
    }
    assert.equal(sink.messages.length, 1, "delivered exactly once");
  });
});

/**
 * `mailbag start` as its own process on the test backend: the embedded emulator with its state
 * in `dir` (killed with it), or the endpoint (LocalStack) of MAILBAG_TEST_BACKEND=endpoint.
 */
async function startMailbag(
  configFile: string,
  dir: string,
  extra: string[],
): Promise<{ child: ChildProcess; port: number }> {
  const endpoint = process.env.MAILBAG_TEST_BACKEND === "endpoint";
  const backend = endpoint
    ? ["--backend", "endpoint"]
    : ["--backend", "emulator", "--data-dir", join(dir, "state"), "--emulator-port", "0"];
  const env: NodeJS.ProcessEnv = { ...process.env, MAILBAG_LOG: "silent" };
  if (!endpoint) delete env.AWS_ENDPOINT_URL;
  const child = spawn(
    process.execPath,
    ["cli/mailbag.ts", "start", "--port", "0", "--config", configFile, ...backend, ...extra],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  await waitUntil(
    () => /SMTP on [\d.]+:\d+/.test(out) || child.exitCode !== null,
    30_000,
    () => "mailbag start ready",
  );
  const port = Number(/SMTP on [\d.]+:(\d+)/.exec(out)?.[1]);
  if (!port) throw new Error(`mailbag start failed: ${out}`);
  return { child, port };
}
