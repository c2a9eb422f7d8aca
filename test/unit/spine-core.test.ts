/** Unit tests of the spine's pure parts: ids, Received header, FIFO batch rule, stored records. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import type { SQSRecord } from "aws-lambda";
import { processFifoBatch } from "../../core/batch.ts";
import {
  MalformedRecordError,
  parseDeliverJob,
  parseEnvelope,
  parseJson,
} from "../../core/envelope.ts";
import {
  BackendUnavailableError,
  MessageTooLargeError,
  PolicyRejectionError,
} from "../../core/errors.ts";
import { MESSAGE_ID_PATTERN, newMessageId } from "../../core/ids.ts";
import { gatewayResources, keys } from "../../core/names.ts";
import { receivedHeader, rfc5322Date } from "../../core/received.ts";

describe("message ids", () => {
  test("are ULIDs that sort by acceptance time", () => {
    const a = newMessageId(Date.UTC(2026, 10, 23, 7, 0, 0));
    const b = newMessageId(Date.UTC(2026, 10, 23, 7, 0, 1));
    assert.match(a, MESSAGE_ID_PATTERN);
    assert.ok(a < b);
    assert.notEqual(newMessageId(), newMessageId());
  });
});

describe("Received: header (RFC 5321 §4.4)", () => {
  const base = {
    helo: "client.partner.test",
    clientAddress: "::ffff:192.0.2.7",
    tls: false,
    authenticated: false,
    byHost: "msmailgwy.company.test",
    gateway: "GW1",
    id: "01M83NWSMK14EAP3CBEJT2Y9S0",
    recipients: ["jsmith@sales.company.test"],
    date: new Date(Date.UTC(2026, 10, 23, 7, 40, 0)),
  };

  test("names the client, us, the protocol, the id and the single recipient", () => {
    assert.equal(
      receivedHeader(base),
      "Received: from client.partner.test ([192.0.2.7])\r\n" +
        "\tby msmailgwy.company.test (Mailbag Gateway GW1) with ESMTP id 01M83NWSMK14EAP3CBEJT2Y9S0\r\n" +
        "\tfor <jsmith@sales.company.test>;\r\n" +
        "\tMon, 23 Nov 2026 07:40:00 +0000\r\n",
    );
  });

  test("uses RFC 3848 protocol names and hides recipients when there are several", () => {
    const h = receivedHeader({
      ...base,
      tls: true,
      authenticated: true,
      recipients: ["a@x.test", "b@x.test"],
    });
    assert.match(h, / with ESMTPSA id /);
    assert.doesNotMatch(h, /for </);
  });

  test("keeps client-supplied HELO to one printable line", () => {
    const h = receivedHeader({ ...base, helo: "evil\r\nX-Injected: yes" });
    assert.equal(h.split("\r\n").length, 5);
    assert.doesNotMatch(h, /\r\nX-Injected/);
  });

  test("IPv6 clients get an IPv6 address literal", () => {
    assert.match(
      receivedHeader({ ...base, clientAddress: "2001:db8::1" }),
      /\(\[IPv6:2001:db8::1\]\)/,
    );
  });

  test("dates are RFC 5322", () => {
    assert.equal(
      rfc5322Date(new Date(Date.UTC(2026, 0, 5, 3, 4, 5))),
      "Mon, 5 Jan 2026 03:04:05 +0000",
    );
  });
});

describe("FIFO partial batch failures", () => {
  const record = (messageId: string) => ({ messageId }) as SQSRecord;

  test("all processed: no failures", async () => {
    const seen: string[] = [];
    const r = await processFifoBatch(
      [record("a"), record("b")],
      async (x) => void seen.push(x.messageId),
      () => {},
    );
    assert.deepEqual(r.batchItemFailures, []);
    assert.deepEqual(seen, ["a", "b"]);
  });

  test("the first failure stops the batch: it and everything after it are reported", async () => {
    const seen: string[] = [];
    const failures: string[] = [];
    const r = await processFifoBatch(
      [record("a"), record("b"), record("c")],
      async (x) => {
        seen.push(x.messageId);
        if (x.messageId === "b") throw new Error("smart host down");
      },
      (x) => failures.push(x.messageId),
    );
    assert.deepEqual(seen, ["a", "b"], "c is not processed out of order");
    assert.deepEqual(r.batchItemFailures, [{ itemIdentifier: "b" }, { itemIdentifier: "c" }]);
    assert.deepEqual(failures, ["b"]);
  });

  test("a failure stops its own group only: the other groups of the batch go on", async () => {
    const inGroup = (messageId: string, group: string) =>
      ({ messageId, attributes: { MessageGroupId: group } }) as unknown as SQSRecord;
    const seen: string[] = [];
    const r = await processFifoBatch(
      [
        inGroup("s1", "GW1.SALES"),
        inGroup("h1", "GW1.HQ"),
        inGroup("s2", "GW1.SALES"),
        inGroup("h2", "GW1.HQ"),
      ],
      async (x) => {
        seen.push(x.messageId);
        if (x.messageId === "s1") throw new Error("SALES's server is down");
      },
      () => {},
    );
    assert.deepEqual(seen, ["s1", "h1", "h2"], "s2 waits behind s1; HQ's records go on");
    assert.deepEqual(r.batchItemFailures, [{ itemIdentifier: "s1" }, { itemIdentifier: "s2" }]);
  });
});

describe("stored records", () => {
  const envelope = {
    version: 1,
    id: "01M83NWSMK14EAP3CBEJT2Y9S0",
    gateway: "GW1",
    mailFrom: "",
    rcptTo: ["jsmith@sales.company.test"],
    client: { address: "127.0.0.1", helo: "x", tls: false },
    receivedAt: "2026-11-23T07:40:00.000Z",
    size: 10,
    sha256: "0".repeat(64),
  };

  test("a valid envelope parses (the null sender included), params default to {}", () => {
    assert.deepEqual(parseEnvelope(envelope).params, {});
  });

  test("a corrupt envelope names the field", () => {
    assert.throws(
      () => parseEnvelope({ ...envelope, rcptTo: [] }),
      (e: unknown) =>
        e instanceof MalformedRecordError && /malformed envelope: rcptTo: /.test(e.message),
    );
    assert.throws(
      () => parseEnvelope({ ...envelope, sha256: "xyz" }),
      /malformed envelope: sha256/,
    );
    assert.throws(
      () => parseDeliverJob({ v: 1, id: "x", gateway: "GW1", recipients: ["a@b.test"], extra: 1 }),
      /Unrecognized key/,
    );
    assert.throws(() => parseJson("route job", "{not json"), /malformed route job/);
  });

  test("names: FIFO queues end in .fifo, the bucket is lower-case", () => {
    const r = gatewayResources("mailbag", "GW-A");
    assert.equal(r.bucket, "mailbag-gw-a");
    assert.equal(r.queues.route, "mailbag-gw-a-route.fifo");
    assert.equal(r.deadLetterQueues.deliver, "mailbag-gw-a-deliver-dlq.fifo");
    assert.equal(keys.inbound("SALES", "ID"), "inbound/SALES/ID.eml");
  });
});

describe("errors carry their SMTP reply", () => {
  test("codes and transient flag", () => {
    assert.equal(new BackendUnavailableError("S3 down").reply, "451 4.3.0 S3 down");
    assert.equal(new BackendUnavailableError("x").transient, true);
    assert.equal(
      new MessageTooLargeError(1024).reply,
      "552 5.3.4 Message size exceeds fixed maximum message size (1024 bytes)",
    );
    assert.equal(new PolicyRejectionError(550, "5.7.1", "Relaying denied").transient, false);
  });
});

describe("fixtures are real RFC 5322 messages", () => {
  test("CRLF line endings and a header block", () => {
    for (const name of ["plain.eml", "multipart-attachment.eml", "utf8-8bit.eml"]) {
      const raw = readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "latin1");
      assert.ok(raw.includes("\r\n\r\n"), name);
      assert.doesNotMatch(raw, /[^\r]\n/, `${name} has bare LF`);
    }
  });
});
