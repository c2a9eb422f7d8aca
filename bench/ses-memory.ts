/**
 * Part of `npm run bench:memory`: the peak RSS of a process that relays one raw message through
 * the SES transport (functions/shared/ses-transport.ts), which must hold the whole message: the
 * SES API takes it in one request. Sizes: 10 MiB (SendRawEmail's limit, what the transport
 * uses) and 40 MB (the v2 API's limit), each in a fresh process
 * (`node bench/ses-memory.ts child <bytes>`) that reports its own VmHWM.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { sesTransport } from "../functions/shared/ses-transport.ts";
import { generatedMessage } from "./lib.ts";

const REGION = "us-east-1";
const FROM = "bench@hq.company.test";
const endpoint = process.env.AWS_ENDPOINT_URL;

const peakMiB = () =>
  Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) / 1024;

if (process.argv[2] === "child") {
  const bytes = Number(process.argv[3]);
  const transport = sesTransport({ endpoint, region: REGION }, undefined, bytes + 1024 * 1024);
  const before = peakMiB();
  const { stream } = generatedMessage(bytes, `ses-bench-${bytes}`);
  const started = Date.now();
  const result = await transport.send(FROM, ["someone@partner.test"], stream, bytes + 512);
  process.stdout.write(
    `${JSON.stringify({ bytes, baselineMiB: before, peakMiB: peakMiB(), ms: Date.now() - started, reply: result.reply.slice(0, 40) })}\n`,
  );
} else {
  // LocalStack's SES (what test/localstack/ses.test.ts proves the transport against) fails to
  // parse requests over a few MB, so the sizes are measured against a stand-in for the SES API
  // that reads the whole request and answers as SES does: the client side is what is measured.
  const received: number[] = [];
  const standIn = createServer((req, res) => {
    let n = 0;
    req.on("data", (c: Buffer) => {
      n += c.length;
    });
    req.on("end", () => {
      received.push(n);
      res.writeHead(200, { "content-type": "text/xml" });
      res.end(
        '<SendRawEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><SendRawEmailResult>' +
          `<MessageId>stand-in-${received.length}</MessageId></SendRawEmailResult>` +
          "<ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></SendRawEmailResponse>",
      );
    });
  });
  await new Promise<void>((resolve) => standIn.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`;
  for (const bytes of [64 * 1024, 10 * 1024 * 1024, 40_000_000]) {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [new URL(import.meta.url).pathname, "child", String(bytes)],
        { env: { ...process.env, AWS_ENDPOINT_URL: url }, encoding: "utf8" },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    const r = JSON.parse(out.trim().split("\n").pop() ?? "{}");
    console.log(
      `ses: ${(bytes / 1e6).toFixed(2)} MB raw message: peak RSS ${r.peakMiB.toFixed(1)} MiB ` +
        `(${(r.peakMiB - r.baselineMiB).toFixed(1)} MiB over the process's ${r.baselineMiB.toFixed(1)} MiB ` +
        `before sending; budget 128 MiB), request ${((received.at(-1) ?? 0) / 1e6).toFixed(1)} MB, ${r.ms} ms`,
    );
  }
  standIn.close();
}
