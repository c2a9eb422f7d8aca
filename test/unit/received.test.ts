/** The Received: trace field (core/received.ts). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { receivedHeader, rfc5322Date } from "../../core/received.ts";

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
