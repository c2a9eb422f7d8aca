/**
 * The embedded emulator is private to the gateway (issue 11): loopback only, and only requests
 * signed with the local credentials are served; anonymous or wrongly signed ones get 403.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { after, before, test } from "node:test";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { type Emulator, startEmulator } from "../../functions/local/emulator.ts";

process.env.MAILBAG_LOG ??= "silent";

let emu: Emulator;
const credentials = { accessKeyId: "MBLOCALTEST", secretAccessKey: "local-secret-for-tests" };
const s3 = (c = credentials) =>
  new S3Client({
    endpoint: emu.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: c,
    maxAttempts: 1,
  });
const sqs = (c = credentials) =>
  new SQSClient({ endpoint: emu.endpoint, region: "us-east-1", credentials: c, maxAttempts: 1 });

before(async () => {
  emu = await startEmulator({ credentials });
  await s3().send(new CreateBucketCommand({ Bucket: "mailbag" }));
  await s3().send(
    new PutObjectCommand({ Bucket: "mailbag", Key: "messages/x.eml", Body: "secret mail" }),
  );
});
after(() => emu?.stop());

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${emu.endpoint}${path}`, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("its port is bound to 127.0.0.1 only", () => {
  const hex = emu.port.toString(16).toUpperCase().padStart(4, "0");
  const listening = ["/proc/net/tcp", "/proc/net/tcp6"]
    .flatMap((f) => readFileSync(f, "utf8").split("\n").slice(1))
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols[3] === "0A" && cols[1]?.endsWith(`:${hex}`))
    .map((cols) => cols[1]?.split(":")[0]);
  assert.deepEqual(listening, ["0100007F"]);
});

test("an anonymous S3 GET of a mailbag object gets 403 and no content", async () => {
  const r = await get("/mailbag/messages/x.eml");
  assert.equal(r.status, 403);
  assert.doesNotMatch(r.body, /secret mail/);
  assert.match(r.body, /AccessDenied/);
});

test("requests signed with other credentials get 403 (S3 and SQS)", async () => {
  const wrongSecret = { ...credentials, secretAccessKey: "guess" };
  await assert.rejects(
    s3(wrongSecret).send(new GetObjectCommand({ Bucket: "mailbag", Key: "messages/x.eml" })),
    (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 403,
  );
  await assert.rejects(
    sqs({ accessKeyId: "test", secretAccessKey: "test" }).send(
      new CreateQueueCommand({ QueueName: "evil" }),
    ),
    (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 403,
  );
});

test("SDK calls signed with the local credentials work (S3 and SQS)", async () => {
  const obj = await s3().send(new GetObjectCommand({ Bucket: "mailbag", Key: "messages/x.eml" }));
  assert.equal(await obj.Body?.transformToString(), "secret mail");
  const { QueueUrl } = await sqs().send(new CreateQueueCommand({ QueueName: "jobs" }));
  await sqs().send(new SendMessageCommand({ QueueUrl, MessageBody: "job with ünïcode & spaces" }));
  const got = await sqs().send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
  assert.equal(got.Messages?.[0]?.Body, "job with ünïcode & spaces");
});
