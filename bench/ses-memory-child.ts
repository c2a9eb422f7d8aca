/**
 * One delivery process of bench/ses-memory.ts: reads `key` from the mailbag (S3 at
 * AWS_ENDPOINT_URL) and sends it through the SES transport to MAILBAG_BENCH_SES_URL, then prints
 * its own peak RSS (VmHWM) before and after. Imports only what the delivery function does.
 * Usage: node bench/ses-memory-child.ts <key> <bytes> <v1|v2> <encodedLimit>
 */
import { readFileSync } from "node:fs";
import { createAwsClients } from "../functions/shared/aws.ts";
import { s3Store } from "../functions/shared/s3-store.ts";
import type { SesApi } from "../functions/shared/ses-request.ts";
import { sesTransport } from "../functions/shared/ses-transport.ts";

const peakMiB = () =>
  Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) / 1024;

const [key = "", bytes = "0", api = "v2", limit = "0", bucket = "", region = ""] =
  process.argv.slice(2);
const { s3 } = createAwsClients({ endpoint: process.env.AWS_ENDPOINT_URL, region });
const store = s3Store(s3, bucket);
const transport = sesTransport(
  { endpoint: process.env.MAILBAG_BENCH_SES_URL, region },
  { api: api as SesApi, encodedLimit: Number(limit) },
);
const send = async (k: string, size: number) =>
  transport.send(
    "bench@hq.company.test",
    ["someone@partner.test", "bcc@partner.test"],
    await store.getStream(k),
    size,
    {
      reopen: () => store.getStream(k),
    },
  );
// A small send first: the code paths are loaded and the sockets open before the baseline.
await send("warm-up", 64 * 1024);
const baseline = peakMiB();
const started = Date.now();
const result = await send(key, Number(bytes));
process.stdout.write(
  `${JSON.stringify({ baselineMiB: baseline, peakMiB: peakMiB(), ms: Date.now() - started, reply: result.reply })}\n`,
);
