/**
 * Part of `npm run bench:memory`: the peak RSS of a delivery process that relays one large
 * message from the mailbag through the SES transport (functions/shared/ses-transport.ts: two
 * streamed reads of the S3 object, the second encoded and sent in one signed request). Budget:
 * a 128 MB function.
 *
 * The mailbag is the embedded emulator's S3 (in this process); each send runs in a fresh Node
 * process (`node bench/ses-memory.ts child …`) that reports its own VmHWM before and after. SES is
 * the stand-in of test/helpers/ses-stand-in.ts, which verifies each request's SigV4 signature
 * over the bytes it received, that Content-Length matched them, and here that the decoded
 * message has the SHA-256 of what was stored: LocalStack's SES (test/localstack/ses.test.ts)
 * parses no form field over 2 MiB, so it cannot take these sizes, and it emulates no v2 API.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { build } from "esbuild";
import { startEmulator } from "../functions/local/emulator.ts";
import { createAwsClients, localCredentials } from "../functions/shared/aws.ts";
import { s3Store } from "../functions/shared/s3-store.ts";
import {
  largestMessage,
  SES_MAX_ENCODED_BYTES,
  type SesApi,
} from "../functions/shared/ses-request.ts";
import { startSesStandIn } from "../test/helpers/ses-stand-in.ts";
import { generatedMessage } from "./lib.ts";

const REGION = "us-east-1";
const BUCKET = "ses-bench";
const MiB = 1024 * 1024;

// The child runs as an esbuild bundle, built as the Lambda bundles are (scripts/build.mjs):
// plain JS, so its baseline is not Node's TypeScript loader.
const dir = mkdtempSync(join(tmpdir(), "mailbag-ses-bench-"));
const childScript = join(dir, "ses-memory-child.mjs");
await build({
  entryPoints: [new URL("ses-memory-child.ts", import.meta.url).pathname],
  outfile: childScript,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  minify: true,
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  logLevel: "warning",
});
const emulator = await startEmulator({ region: REGION });
const standIn = await startSesStandIn(localCredentials());
const { s3 } = createAwsClients({ endpoint: emulator.endpoint, region: REGION });
await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
const store = s3Store(s3, BUCKET);
const put = async (key: string, bytes: number) => {
  const m = generatedMessage(bytes, `ses-bench-${bytes}`);
  await store.putStream(key, m.stream);
  return m.sha256;
};
await put("warm-up", 64 * 1024);
const cases: { label: string; bytes: number; api: SesApi; limit: number }[] = [
  {
    label: "v2, SES's largest raw message (40 MiB after base64)",
    bytes: largestMessage(SES_MAX_ENCODED_BYTES.v2),
    api: "v2",
    limit: SES_MAX_ENCODED_BYTES.v2,
  },
  {
    label: "v2 path, 40 MB raw (SES's limit raised for the bench)",
    bytes: 40_000_000,
    api: "v2",
    limit: 64 * MiB,
  },
  {
    label: "v1, SES v1's largest raw message (10 MiB after base64)",
    bytes: largestMessage(SES_MAX_ENCODED_BYTES.v1),
    api: "v1",
    limit: SES_MAX_ENCODED_BYTES.v1,
  },
  { label: "v2, 64 KiB", bytes: 64 * 1024, api: "v2", limit: SES_MAX_ENCODED_BYTES.v2 },
];
let over = false;
try {
  for (const c of cases) {
    const key = `m-${c.bytes}`;
    const sha256 = await put(key, c.bytes);
    // generatedMessage writes whole lines: the stored size is up to a line under c.bytes.
    const size = (await store.list(key))[0]?.size ?? 0;
    const before = standIn.requests.length;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [childScript, key, String(size), c.api, String(c.limit), BUCKET, REGION],
        {
          env: {
            ...process.env,
            AWS_ENDPOINT_URL: emulator.endpoint,
            MAILBAG_BENCH_SES_URL: standIn.url,
          },
          encoding: "utf8",
          maxBuffer: 1024 * 1024,
        },
        (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const r = JSON.parse(out.trim().split("\n").pop() ?? "{}");
    const req = standIn.requests[before + 1]; // [before] is the child's warm-up send
    const intact =
      req !== undefined &&
      createHash("sha256").update(req.message).digest("hex") === (await sha256) &&
      req.message.length === size;
    const verified = req?.signature === "valid" && req.received === req.contentLength;
    const growth = r.peakMiB - r.baselineMiB;
    over ||= r.peakMiB > 128 || !intact || !verified;
    console.log(
      `ses: ${c.label}: ${size} bytes → peak RSS ${r.peakMiB.toFixed(1)} MiB ` +
        `(+${growth.toFixed(1)} MiB over the ${r.baselineMiB.toFixed(1)} MiB before sending; budget 128 MiB), ` +
        `request ${((req?.received ?? 0) / 1e6).toFixed(1)} MB, signature ${req?.signature ?? "none"}, ` +
        `Content-Length ${req?.received === req?.contentLength ? "exact" : "WRONG"}, ` +
        `message ${intact ? "intact" : "NOT INTACT"}, ${r.ms} ms, ${String(r.reply).slice(0, 14)}`,
    );
  }
} finally {
  await standIn.close();
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
}
if (over) {
  console.log("ses: OVER BUDGET or not intact");
  process.exitCode = 1;
}
