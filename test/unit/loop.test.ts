/** Loop detection while DATA streams (core/loop.ts, docs/routing.md#loops). */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import fc from "fast-check";
import { acceptMessage } from "../../core/accept.ts";
import { RoutingLoopError } from "../../core/errors.ts";
import { headerScanner, loopScanner, traceHeader, traceIdentity } from "../../core/loop.ts";
import { keys } from "../../core/names.ts";
import { acceptEnvelope } from "../helpers/records.ts";
import { memoryQueue, memoryStore } from "../helpers/routing-fixtures.ts";

const received = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => `Received: from h${i} by h${i + 1};\r\n\tMon, 1 Jan 2024\r\n`,
  ).join("");

/** Splits `text` into chunks at the given cut points. */
function chunks(text: string, cuts: number[]): Buffer[] {
  const buf = Buffer.from(text, "latin1");
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of [...points, buf.length]) {
    out.push(buf.subarray(last, p));
    last = p;
  }
  return out;
}

describe("header scanner", () => {
  const message =
    `${received(3)}${traceHeader("mailbag/GW-A", "01A")}Subject: hi\r\n` +
    "X-Note: Received: not a field\r\n\r\nReceived: in the body\r\nMailbag-Trace: mailbag/GW-B\r\n";

  test("counts Received: fields and trace identities of the header block only, however chunked", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        const scan = headerScanner();
        let counts = scan(Buffer.alloc(0));
        for (const c of chunks(message, cuts)) counts = scan(c);
        assert.deepEqual(counts, { received: 3, traces: ["mailbag/gw-a"], done: true });
      }),
    );
  });

  test("bare LF line ends and folded lines", () => {
    const scan = headerScanner();
    const counts = scan(Buffer.from("received: a\n b\nReceived: c\n\nReceived: body\n"));
    assert.deepEqual(counts, { received: 2, traces: [], done: true });
  });
});

describe("loop policy", () => {
  const policy = { self: traceIdentity("mailbag", "GW-A"), maxHops: 5 };
  const verdict = (text: string) => {
    const scan = loopScanner(policy);
    for (const c of chunks(text, [7, 50, 51, 200])) {
      const v = scan(c);
      if (v) return v;
    }
    return undefined;
  };

  test("a message carrying this gateway's trace is a loop: 554 5.4.6", () => {
    const v = verdict(`${received(2)}${traceHeader("mailbag/GW-A", "01X")}\r\nbody`);
    assert.ok(v instanceof RoutingLoopError);
    assert.equal(
      v.reply,
      "554 5.4.6 Routing loop detected: the message already passed through gateway mailbag/GW-A",
    );
  });

  test("another gateway's or another deployment's trace is not", () => {
    assert.equal(
      verdict(`${traceHeader("mailbag/GW-B", "1")}${traceHeader("other/GW-A", "2")}\r\nx`),
      undefined,
    );
  });

  test("maxHops Received: fields are too many; one fewer passes", () => {
    assert.equal(verdict(`${received(4)}\r\nbody`), undefined);
    assert.match(
      verdict(`${received(5)}\r\nbody`)?.reply ?? "",
      /^554 5\.4\.6 Routing loop detected: too many hops \(5 Received: header fields, limit 5\)/,
    );
  });

  test("Received: lines in the body do not count", () => {
    assert.equal(verdict(`Subject: x\r\n\r\n${received(50)}`), undefined);
  });
});

describe("acceptMessage with the loop policy", () => {
  const input = (data: string) => ({
    data: Readable.from([Buffer.from(data)]),
    header: "Received: from client by us\r\n",
    maxBytes: 1_000_000,
    loop: { self: "mailbag/GW-A", maxHops: 100 },
    envelope: acceptEnvelope({
      id: "01LOOP",
      gateway: "GW-A",
      mailFrom: "a@po1.company.test",
      rcptTo: ["x@partner.test"],
    }),
  });

  test("prepends the trace field after our Received:", async () => {
    const store = memoryStore();
    const queue = memoryQueue();
    await acceptMessage({ store, queue, routeQueue: "rq" }, input("Subject: x\r\n\r\nhi\r\n"));
    assert.equal(
      String(store.objects.get(keys.message("01LOOP"))),
      "Received: from client by us\r\nMailbag-Trace: mailbag/GW-A; id=01LOOP\r\nSubject: x\r\n\r\nhi\r\n",
    );
    assert.equal(queue.sent.length, 1);
  });

  test("a message that comes back is refused 554 5.4.6, nothing stored or queued", async () => {
    const store = memoryStore();
    const queue = memoryQueue();
    await assert.rejects(
      acceptMessage(
        { store, queue, routeQueue: "rq" },
        input(
          `Received: from gw-b\r\nMailbag-Trace: mailbag/GW-B; id=2\r\nReceived: from gw-a\r\n${traceHeader("mailbag/GW-A", "1")}\r\nbody\r\n`,
        ),
      ),
      (err: unknown) => err instanceof RoutingLoopError && err.responseCode === 554,
    );
    assert.equal(store.objects.size, 0);
    assert.equal(queue.sent.length, 0);
  });
});
