/**
 * The streamed SES request (functions/shared/ses-request.ts, ses-transport.ts) on the real .eml
 * fixtures: the chunked base64 equals the whole message's, and a send through the transport
 * reaches a stand-in SES endpoint that verifies the SigV4 signature over the bytes it received
 * (test/helpers/ses-stand-in.ts) with the message byte-exact, Content-Length equal to the bytes
 * sent, every envelope recipient, for both APIs. SES's replies map onto the catalogue: a
 * refusal fails for good (bounce), a throttle or signature fault is "try again".
 */
import assert from "node:assert/strict";
import { createReadStream, readdirSync, readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { after, before, test } from "node:test";
import { isMailbagError } from "../../core/errors.ts";
import { localCredentials } from "../../functions/shared/aws.ts";
import {
  base64Chunks,
  base64Length,
  largestMessage,
  type SesApi,
} from "../../functions/shared/ses-request.ts";
import { sesTransport } from "../../functions/shared/ses-transport.ts";
import { type SesError, type SesStandIn, startSesStandIn } from "../helpers/ses-stand-in.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith(".eml"));
const path = (f: string) => new URL(f, FIXTURES).pathname;

let standIn: SesStandIn;
let refuse: ((to: readonly string[]) => SesError | undefined) | undefined;

before(async () => {
  standIn = await startSesStandIn(localCredentials(), (r) => refuse?.(r.destinations));
});
after(() => standIn.close());

/** The fixture as a file stream of `chunk`-byte reads: the mailbag's stream in small pieces. */
const fileStream = (f: string, chunk: number) =>
  createReadStream(path(f), { highWaterMark: chunk });

async function collect(chunks: AsyncIterable<Buffer>): Promise<string> {
  let s = "";
  for await (const c of chunks) s += c.toString("latin1");
  return s;
}

test("chunked base64 equals the whole message's base64, for every chunk size", async () => {
  assert.ok(fixtures.length >= 3, "the fixtures are there");
  for (const f of fixtures) {
    const whole = readFileSync(path(f));
    // Byte by byte only for the small ones: the 28 KB one byte-wise takes seconds.
    for (const size of whole.length < 1000 ? [1, 2, 3, 4, 5, 7, 64] : [5, 7, 64, 1000, 65536]) {
      const b64 = await collect(base64Chunks(fileStream(f, size), false));
      assert.equal(b64, whole.toString("base64"), `${f} in ${size}-byte chunks`);
      assert.equal(b64.length, base64Length(whole.length));
      const form = await collect(base64Chunks(fileStream(f, size), true));
      assert.equal(form, encodeURIComponent(whole.toString("base64")), `${f} form-encoded`);
    }
  }
  assert.equal(largestMessage(40 * 1024 * 1024), 31_457_280);
  assert.ok(base64Length(largestMessage(40 * 1024 * 1024)) <= 40 * 1024 * 1024);
});

function transport(api: SesApi, encodedLimit?: number) {
  return sesTransport(
    { endpoint: standIn.url, region: "eu-west-1" },
    { api, configurationSet: "mailbag-test", ...(encodedLimit ? { encodedLimit } : {}) },
  );
}

for (const api of ["v1", "v2"] as const) {
  test(`SES ${api}: each fixture arrives byte-exact, signed, with its exact Content-Length and every recipient`, async () => {
    for (const f of fixtures) {
      const whole = readFileSync(path(f));
      const before = standIn.requests.length;
      const to = ["to@partner.test", "bcc@partner.test"];
      // 1000-byte reads: remainders carried between chunks on every fixture.
      const result = await transport(api).send(
        "jsmith@hq.company.test",
        to,
        fileStream(f, 1000),
        whole.length,
        {
          reopen: async () => fileStream(f, 1000),
        },
      );
      assert.match(result.reply, /^250 .*SES message id stand-in-/);
      assert.deepEqual(result.accepted, to);
      const r = standIn.requests[before];
      assert.equal(standIn.requests.length, before + 1, "one request per send");
      assert.equal(r?.api, api);
      assert.equal(r?.signature, "valid", `${f}: SigV4 signature verified over the received body`);
      assert.equal(r?.received, r?.contentLength, `${f}: Content-Length equals the bytes sent`);
      assert.equal(r?.canonicalBase64, true, `${f}: canonical base64`);
      assert.ok(r?.message.equals(whole), `${f}: message byte-exact`);
      assert.equal(r?.from, "jsmith@hq.company.test");
      assert.deepEqual(r?.destinations, to);
      assert.equal(r?.configurationSet, "mailbag-test");
    }
  });
}

test("a null reverse-path (a bounce) is sent without a sender", async () => {
  const before = standIn.requests.length;
  await transport("v2").send("", ["x@partner.test"], fileStream("plain.eml", 64), 277, {
    reopen: async () => fileStream("plain.eml", 64),
  });
  assert.equal(standIn.requests[before]?.from, undefined);
  assert.equal(standIn.requests[before]?.signature, "valid");
});

async function failure(p: Promise<unknown>) {
  const err = await p.then(
    () => assert.fail("expected a rejection"),
    (e: unknown) => e,
  );
  assert.ok(isMailbagError(err), String(err));
  return err;
}

test("SES refusals fail for good (5xx: bounced); throttles, signature faults, 5xx are transient", async () => {
  const cases: [SesError, RegExp, boolean][] = [
    [
      { status: 400, code: "MessageRejected", message: "Email address is not verified." },
      /^554 5\.7\.1 SES MessageRejected: Email address is not verified\.$/,
      false,
    ],
    [
      { status: 400, code: "Throttling", message: "Maximum sending rate exceeded." },
      /^451 4\.3\.0 SES Throttling/,
      true,
    ],
    [
      { status: 429, code: "TooManyRequestsException", message: "slow down" },
      /^451 4\.3\.0 SES TooManyRequestsException/,
      true,
    ],
    [
      { status: 503, code: "ServiceUnavailable", message: "try later" },
      /^451 4\.3\.0 SES ServiceUnavailable/,
      true,
    ],
  ];
  for (const api of ["v1", "v2"] as const) {
    for (const [answer, reply, transient] of cases) {
      refuse = () => answer;
      const err = await failure(
        transport(api).send(
          "a@hq.company.test",
          ["r@partner.test"],
          fileStream("plain.eml", 64),
          277,
          {
            reopen: async () => fileStream("plain.eml", 64),
          },
        ),
      );
      assert.match(err.reply, reply, `${api} ${answer.code}`);
      assert.equal(err.transient, transient, `${api} ${answer.code}`);
    }
  }
  refuse = undefined;
  // Signed with the wrong secret: the stand-in's check refuses it, and that is our fault: retried.
  const saved = { ...process.env };
  process.env.AWS_ACCESS_KEY_ID = localCredentials().accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = "not-the-secret";
  try {
    const err = await failure(
      sesTransport({ endpoint: standIn.url, region: "eu-west-1" }, { api: "v2" }).send(
        "a@hq.company.test",
        ["r@partner.test"],
        fileStream("plain.eml", 64),
        277,
        { reopen: async () => fileStream("plain.eml", 64) },
      ),
    );
    assert.match(err.reply, /^451 4\.3\.0 SES SignatureDoesNotMatch/);
  } finally {
    process.env.AWS_ACCESS_KEY_ID = saved.AWS_ACCESS_KEY_ID;
    process.env.AWS_SECRET_ACCESS_KEY = saved.AWS_SECRET_ACCESS_KEY;
    if (saved.AWS_ACCESS_KEY_ID === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    if (saved.AWS_SECRET_ACCESS_KEY === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
  }
});

test("over SES's limit: 552 5.3.4 before anything is sent; a size the envelope understated is caught while reading", async () => {
  const whole = readFileSync(path("multipart-attachment.eml"));
  const before = standIn.requests.length;
  const limit = base64Length(whole.length) - 4;
  for (const size of [whole.length, 100]) {
    const err = await failure(
      transport("v2", limit).send(
        "a@hq.company.test",
        ["r@partner.test"],
        fileStream("multipart-attachment.eml", 1000),
        size,
        {
          reopen: async () => fileStream("multipart-attachment.eml", 1000),
        },
      ),
    );
    assert.match(
      err.reply,
      /^552 5\.3\.4 Message too large for Amazon SES: \d+ bytes are \d+ after base64, the SES v2 API takes at most \d+ \(https:/,
    );
    assert.equal(err.transient, false);
  }
  assert.equal(standIn.requests.length, before, "nothing sent");
});

test("SES has no SMTPUTF8: a message that needs it bounces 5.6.7 before anything is sent", async () => {
  const before = standIn.requests.length;
  const cases: { to: string[]; params: Record<string, string> }[] = [
    { to: ["müller@partner.test"], params: {} },
    { to: ["r@partner.test"], params: { SMTPUTF8: "" } },
  ];
  for (const { to, params } of cases) {
    const err = await failure(
      transport("v2").send("a@hq.company.test", to, fileStream("utf8-8bit.eml", 64), 410, {
        params,
        reopen: async () => fileStream("utf8-8bit.eml", 64),
      }),
    );
    assert.match(err.reply, /^554 5\.6\.7 /);
    assert.equal(err.transient, false);
  }
  assert.equal(standIn.requests.length, before, "nothing sent");
});

test("a message that changed between the two reads is never completed: the request is aborted, retried later", async () => {
  // 2 MiB in 64 KiB reads: the request is under way when the last read shows the change.
  const whole = Buffer.concat(
    Array.from({ length: 75 }, () => readFileSync(path("multipart-attachment.eml"))),
  );
  const changed = Buffer.from(whole);
  changed[changed.length - 10] = 0x58; // one byte differs, same length
  const pieces = (b: Buffer) =>
    Readable.from(
      Array.from({ length: Math.ceil(b.length / 65536) }, (_, i) =>
        b.subarray(i * 65536, (i + 1) * 65536),
      ),
    );
  const before = standIn.requests.length;
  const err = await failure(
    transport("v1").send("a@hq.company.test", ["r@partner.test"], pieces(whole), whole.length, {
      reopen: async () => pieces(changed),
    }),
  );
  assert.equal(err.transient, true);
  assert.match(err.reply, /changed between the two reads/);
  assert.equal(standIn.requests.length, before, "SES never got a whole request");
});
