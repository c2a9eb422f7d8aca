/**
 * The operations commands, run as a person runs them (the `mailbag` CLI in a child process)
 * against a live network on the emulator: a waiting message shows in `queue`; `show` reports
 * each recipient's state; `flush` makes a held message go at once; `redrive` brings a
 * dead-lettered message back and it is delivered exactly once; `delete` removes it everywhere.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import type { Config } from "../../core/config.ts";
import { gatewayResources, keys } from "../../core/names.ts";
import { send } from "../helpers/client.ts";
import type { startTestNetwork, TestNetwork } from "../helpers/network.ts";
import { testConfig } from "../helpers/network.ts";
import { startSink, waitUntil } from "../helpers/sink.ts";
import { gatewaySuite, runMailbag, writeConfigFile } from "../helpers/suite.ts";

const suite = gatewaySuite({ network: false });

/** The config as a file the CLI reads. */
const configFile = (config: Config) => writeConfigFile(config, "mailbag-ops");

const mailbag = (file: string, ...args: string[]) =>
  runMailbag(suite.backend.endpoint, [...args, "-c", file, "--backend", "endpoint"], {
    MAILBAG_LOG: "silent",
  });

const message = (subject: string) =>
  Buffer.from(`From: jsmith@hq.company.test\r\nSubject: ${subject}\r\n\r\n${subject}\r\n`);

const network = (config: Config, parts?: Parameters<typeof startTestNetwork>[2]) =>
  suite.startNetwork(config, parts);

async function accept(gw: TestNetwork, subject: string, to: string[]): Promise<string> {
  const r = await send({
    port: gw.port(),
    from: "jsmith@hq.company.test",
    to,
    raw: message(subject),
  });
  assert.equal(r.ok, true, r.reply);
  assert.ok(r.id);
  return r.id;
}

describe("mailbag show", () => {
  test("one recipient delivered, one failed: both states with their replies", async () => {
    const sink = await startSink({
      rcpt: (a) => (a.startsWith("nobody@") ? [550, "5.1.1 no such user here"] : undefined),
    });
    suite.stopLater(() => sink.close());
    const config = testConfig(sink.url);
    const gw = await network(config);
    const id = await accept(gw, "show-me", ["someone@partner.test", "nobody@partner.test"]);
    await waitUntil(
      async () => ((await gw.object(keys.status(id))) ?? "").includes('"failed"'),
      20_000,
      () => "status",
    );
    const r = await mailbag(configFile(config), "show", id.slice(0, 12));
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, new RegExp(`message +${id}`));
    const block = (rcpt: string) => r.out.split(`\n<${rcpt}>`)[1]?.split("\n<")[0] ?? "";
    assert.match(block("someone@partner.test"), /state +delivered, 1 attempt/);
    assert.match(block("someone@partner.test"), /reply +250/);
    assert.match(block("nobody@partner.test"), /state +failed, 1 attempt/);
    assert.match(block("nobody@partner.test"), /reply +550 5\.1\.1 no such user here/);
    assert.match(block("nobody@partner.test"), /route +smart host/);
  });
});

describe("mailbag queue and flush", () => {
  test("a held message shows in queue with its age; flush makes it go at once", async () => {
    // A smart host that is down: a port with nothing listening (a sink, closed).
    const probe = await startSink();
    const port = probe.port;
    await probe.close();
    const config = testConfig(`smtp://127.0.0.1:${port}`, (c) => {
      // The line waits minutes for the next hop: only flush can make it go within the test.
      c.delivery = {
        retry: { initialSeconds: 600, maxSeconds: 600 },
        hold: { initialSeconds: 600, maxSeconds: 600 },
        queueLifetimeSeconds: 1800,
      };
    });
    const file = configFile(config);
    const gw = await network(config);
    const id = await accept(gw, "flush-me", ["someone@partner.test"]);
    await waitUntil(
      async () => ((await gw.object(keys.status(id))) ?? "").includes('"deferred"'),
      20_000,
      () => "deferred status",
    );
    const q = await mailbag(file, "queue", "--json");
    assert.equal(q.status, 0, q.err);
    const doc = JSON.parse(q.out) as {
      rows: { queue: string; waiting: number; inFlight: number; oldestAgeSeconds: number | null }[];
      totals: { waiting: number; inFlight: number };
    };
    const deliver = doc.rows.find((r) => r.queue === "deliver");
    assert.ok(deliver, q.out);
    assert.equal(deliver.waiting + deliver.inFlight, 1, q.out);
    assert.ok(deliver.oldestAgeSeconds !== null && deliver.oldestAgeSeconds >= 0, q.out);
    const table = await mailbag(file, "queue");
    assert.match(table.out, /^GW1 +deliver +0 +1 +0 +\d+s /m);

    // The smart host comes back, on the configured port.
    const { SMTPServer } = await import("smtp-server");
    const received: string[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onData(stream, _s, cb) {
        let text = "";
        stream.on("data", (d) => {
          text += d;
        });
        stream.on("end", () => {
          received.push(text);
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    suite.stopLater(() => new Promise((resolve) => server.close(() => resolve())));
    const f = await mailbag(file, "flush");
    assert.equal(f.status, 0, f.err);
    assert.match(f.out, new RegExp(`${id}: 1 recipient\\(s\\) to the smart host, retried now`));
    await waitUntil(
      () => received.some((t) => t.includes("flush-me")),
      15_000,
      () => "delivery",
    );
    await waitUntil(
      async () => ((await gw.object(keys.status(id))) ?? "").includes('"delivered"'),
      10_000,
      () => "delivered status",
    );
  });
});

describe("mailbag redrive and delete", () => {
  test("a dead-lettered message comes back and is delivered once; a deleted one never", async () => {
    const sink = await startSink();
    suite.stopLater(() => sink.close());
    const config = testConfig(sink.url);
    const file = configFile(config);
    // Accept and route only: the delivery jobs wait in the delivery queue.
    const gw = await network(config, { deliver: false, push: false, intake: false });
    const dead = await accept(gw, "redrive-me", ["someone@partner.test"]);
    const gone = await accept(gw, "delete-me", ["someone@partner.test"]);
    const sqs = gw.clients.sqs;
    const names = gatewayResources(config.prefix, "GW1");
    const url = async (name: string) =>
      (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl ?? "";
    const deliverUrl = await url(names.queues.deliver);
    const dlqUrl = await url(names.deadLetterQueues.deliver);
    // What SQS does after maxReceiveCount receives: the job moves to the dead-letter queue.
    let moved = 0;
    await waitUntil(
      async () => {
        const res = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: deliverUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 30,
          }),
        );
        for (const m of res.Messages ?? []) {
          if (!m.Body?.includes(dead)) {
            // Not ours to move: visible again at once, or the FIFO group would stay closed
            // behind it for the whole 30 s and hold the redriven job up.
            await sqs.send(
              new ChangeMessageVisibilityCommand({
                QueueUrl: deliverUrl,
                ReceiptHandle: m.ReceiptHandle,
                VisibilityTimeout: 0,
              }),
            );
            continue;
          }
          await sqs.send(
            new SendMessageCommand({
              QueueUrl: dlqUrl,
              MessageBody: m.Body,
              MessageGroupId: "GW1",
              MessageDeduplicationId: `${dead}.dlq`,
            }),
          );
          await sqs.send(
            new DeleteMessageCommand({ QueueUrl: deliverUrl, ReceiptHandle: m.ReceiptHandle }),
          );
          moved++;
        }
        return moved > 0;
      },
      20_000,
      () => "delivery job of the message to dead-letter",
    );

    const q = JSON.parse((await mailbag(file, "queue", "--json")).out) as {
      rows: { queue: string; waiting: number; inFlight: number }[];
    };
    const dlq = q.rows.find((r) => r.queue === "deliver DLQ");
    assert.equal((dlq?.waiting ?? 0) + (dlq?.inFlight ?? 0), 1, JSON.stringify(q.rows));
    const shown = await mailbag(file, "show", dead);
    assert.match(shown.out, /state +dead-lettered/);

    const d = await mailbag(file, "delete", gone, "--no-bounce");
    assert.equal(d.status, 0, d.err);
    assert.match(d.out, new RegExp(`deleted ${gone}`));
    assert.equal(await gw.object(keys.message(gone)), undefined, "message removed");
    assert.equal(await gw.object(keys.envelope(gone)), undefined, "envelope removed");

    const r = await mailbag(file, "redrive", dead.slice(0, 14));
    assert.equal(r.status, 0, r.err);
    assert.match(
      r.out,
      new RegExp(`${dead}: ${names.deadLetterQueues.deliver} → ${names.queues.deliver}`),
    );

    // Now delivery runs: the redriven message once, the deleted one never (its job, the
    // `redrive-me` one held invisible above reappears too, and must not send twice).
    await network(config, { ingress: false, route: false, intake: false });
    await waitUntil(
      () => sink.messages.some((m) => m.raw.includes("redrive-me")),
      20_000,
      () => "redriven",
    );
    await waitUntil(
      async () => {
        const a = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: deliverUrl,
            AttributeNames: [
              "ApproximateNumberOfMessages",
              "ApproximateNumberOfMessagesNotVisible",
            ],
          }),
        );
        return (
          Number(a.Attributes?.ApproximateNumberOfMessages) +
            Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible) ===
          0
        );
      },
      60_000,
      () => "delivery queue drained",
    );
    assert.equal(
      sink.messages.filter((m) => m.raw.includes("redrive-me")).length,
      1,
      "exactly once",
    );
    assert.equal(
      sink.messages.filter((m) => m.raw.includes("delete-me")).length,
      0,
      "deleted: never",
    );
  });
});
