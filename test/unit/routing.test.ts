/**
 * The routing decision (core/route-recipient.ts), RCPT acceptance (core/ingress-policy.ts), route
 * explanations (core/explain-route.ts, cli/route-text.ts) and the router (core/route-message.ts).
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import fc from "fast-check";
import { formatExplanation, formatHops } from "../../cli/route-text.ts";
import type { AddressMap } from "../../core/address-map.ts";
import { nextHopTransport } from "../../core/backbone.ts";
import type { ConfigInput } from "../../core/config.ts";
import { MailbagError } from "../../core/errors.ts";
import { explainRoute } from "../../core/explain-route.ts";
import { acceptRecipient, submittingPostoffice } from "../../core/ingress-policy.ts";
import { keys } from "../../core/names.ts";
import type { SmartHostTransport } from "../../core/ports.ts";
import { routeMessage } from "../../core/route-message.ts";
import { type Route, routeRecipient } from "../../core/route-recipient.ts";
import { envelopeRecord, routeJob } from "../helpers/records.ts";
import { backbone, map, memoryQueue, memoryStore } from "../helpers/routing-fixtures.ts";

const kind = (m: AddressMap, gw: string, a: string) => routeRecipient(m, gw, a).kind;
const refusal = (r: Route) => (r.kind === "refuse" ? r.error.reply : r.kind);

/** The default map plus a hub postoffice, aliases, mailbox policies and address spaces. */
const rich = () =>
  map("mailbag.config.json", (c: ConfigInput) => {
    c.postoffices.push(
      { id: "BRANCH", domain: "branch.company.test", via: "SALES" },
      { id: "LAB", domain: "lab.company.test", unknownMailbox: "listed", mailboxes: ["ALICE"] },
      { id: "OLD", domain: "old.company.test", unknownMailbox: "reject" },
      { id: "EAST", domain: "east.company.test" },
      { id: "WEST", domain: "west.company.test" },
    );
    Object.assign(c.postoffices[1] as object, {
      aliases: { postmaster: "COMPANY/HQ/ADMIN", "Sales.Desk": "COMPANY/SALES/DESK" },
    });
    c.gateways[0]?.postoffices.push("LAB", "OLD");
    c.gateways.push(
      { id: "GW2", mode: "both", postoffices: ["EAST"], hostname: "gw2.company.test" },
      { id: "GW3", mode: "receive", postoffices: ["WEST"], hostname: "gw3.company.test" },
    );
    c.addressSpaces = [
      { pattern: "*.partner.test", gateway: "GW2", cost: 5 },
      { pattern: "eu.partner.test", gateway: "GW2", cost: 9 },
      { pattern: "*.eu.partner.test", gateway: "GW2", cost: 1 },
      { pattern: "*.eu.partner.test", gateway: "GW3", cost: 1 },
      { pattern: "*", gateway: "GW3", cost: 1, from: ["GW2"] },
    ];
  });

describe("decision (docs/routing.md#decision)", () => {
  test("the default config: own postoffices inbound, everything else to the smart host", () => {
    const m = map();
    assert.deepEqual(routeRecipient(m, "GW1", "JSmith@Sales.Company.Test"), {
      kind: "inbound",
      postoffice: "SALES",
      gateway: "GW1",
      hubs: [],
      recipient: "jsmith@sales.company.test",
      rule: "postoffice SALES received here",
      detail: "SALES is listed by GW1 (gateways[0], mode both)",
      alias: undefined,
    });
    assert.equal(kind(m, "GW1", "bob@partner.test"), "smarthost");
    assert.match(
      refusal(routeRecipient(m, "GW1", "bob@@x")),
      /^501 5\.1\.3 Invalid address <bob@@x>: unexpected "@"/,
    );
  });

  test("backbone: a postoffice of another site goes to its gateway by the address space", () => {
    const m = backbone();
    const r = routeRecipient(m, "GW-A", "jsmith@po2.company.test");
    assert.equal(r.kind, "backbone");
    assert.equal(r.kind === "backbone" && r.to, "GW-B");
    assert.equal(r.rule, "address space COMPANY/PO2/*");
    assert.equal(kind(m, "GW-B", "jsmith@po2.company.test"), "inbound");
  });

  test("without an address space, another gateway's postoffice goes through the smart host (MX)", () => {
    const m = backbone((c) => {
      c.addressSpaces = [];
    });
    const r = routeRecipient(m, "GW-A", "jsmith@po2.company.test");
    assert.equal(r.kind, "smarthost");
    assert.equal(r.kind === "smarthost" && r.mx, "GW-B");
  });

  test("hub: a downstream postoffice is delivered by its hub's gateway, through the hub", () => {
    const m = rich();
    const r = routeRecipient(m, "GW1", "x@branch.company.test");
    assert.equal(r.kind, "inbound");
    assert.deepEqual(r.kind === "inbound" && [r.postoffice, r.hubs], ["BRANCH", ["SALES"]]);
    assert.equal(m.receiverOf.get("BRANCH")?.id, "GW1");
    assert.equal(m.senderOf.get("BRANCH")?.id, "GW1");
    assert.equal(
      formatExplanation(explainRoute(m, "GW1", "x@branch.company.test")),
      "x@branch.company.test: GW1 → hub SALES → BRANCH inbound mailbag",
    );
  });

  test("aliases: applied once, any case, recipient rewritten to the target mailbox", () => {
    const m = rich();
    const r = routeRecipient(m, "GW1", "PostMaster@sales.company.test");
    assert.equal(r.kind, "inbound");
    assert.equal(r.kind === "inbound" && r.postoffice, "HQ");
    assert.equal(r.kind === "inbound" && r.recipient, "admin@hq.company.test");
    assert.deepEqual(r.alias, {
      from: "PostMaster@sales.company.test",
      to: "COMPANY/HQ/ADMIN",
      field: "postoffices[1].aliases.postmaster",
    });
    assert.equal(kind(m, "GW1", "sales.desk@sales.company.test"), "inbound");
  });

  test("mailbox rules: MS Mail names only; listed; reject; postmaster always", () => {
    const m = rich();
    assert.match(
      refusal(routeRecipient(m, "GW1", "john.smith@hq.company.test")),
      /^553 5\.1\.3 <john\.smith@hq\.company\.test>: 'john\.smith' is neither a mailbox name of HQ/,
    );
    assert.equal(kind(m, "GW1", "alice@lab.company.test"), "inbound");
    assert.equal(
      refusal(routeRecipient(m, "GW1", "bob@lab.company.test")),
      "550 5.1.1 <bob@lab.company.test>: no mailbox BOB on postoffice LAB",
    );
    assert.match(
      refusal(routeRecipient(m, "GW1", "bob@old.company.test")),
      /^550 5\.1\.1 .*receives no SMTP mail/,
    );
    assert.equal(kind(m, "GW1", "postmaster@old.company.test"), "inbound");
    assert.equal(kind(m, "GW1", "postmaster@lab.company.test"), "inbound");
  });

  test("receive-only gateways deliver nothing: they refuse what is not theirs", () => {
    const m = map("examples/dedicated.json");
    assert.equal(kind(m, "RECV", "x@sales.company.example"), "inbound");
    assert.match(
      refusal(routeRecipient(m, "RECV", "x@partner.test")),
      /^550 5\.7\.1 Relaying denied/,
    );
    assert.equal(kind(m, "SEND", "x@sales.company.example"), "smarthost");
  });

  test("a postoffice received by no gateway is refused 550 5.1.2", () => {
    const m = map("mailbag.config.json", (c) => {
      c.postoffices.push({ id: "NEW", domain: "new.company.test" });
    });
    assert.equal(
      refusal(routeRecipient(m, "GW1", "x@new.company.test")),
      "550 5.1.2 <x@new.company.test>: postoffice NEW is received by no gateway",
    );
  });
});

describe("precedence (docs/routing.md#precedence)", () => {
  const m = rich();
  const to = (gw: string, a: string) => {
    const r = routeRecipient(m, gw, a);
    return r.kind === "backbone" ? `${r.to} ${r.rule}` : r.kind;
  };
  test("the most specific pattern wins whatever its cost", () => {
    assert.equal(to("GW1", "x@eu.partner.test"), "GW2 address space eu.partner.test");
    assert.equal(to("GW1", "x@mail.partner.test"), "GW2 address space *.partner.test");
  });
  test("equally specific: the lowest cost, then the first listed", () => {
    assert.equal(to("GW1", "x@mail.eu.partner.test"), "GW2 address space *.eu.partner.test");
  });
  test("`from` limits who uses a route; a gateway's own postoffices are never sent away", () => {
    assert.equal(to("GW2", "x@partner.example"), "GW3 address space *");
    assert.equal(to("GW1", "x@partner.example"), "smarthost");
    assert.equal(to("GW2", "x@east.company.test"), "inbound");
  });
});

describe("RCPT acceptance (no open relay)", () => {
  const m = backbone((c) => {
    c.addressSpaces?.push({ pattern: "*.partner.test", gateway: "GW-B", from: ["GW-A"] });
  });
  const accept = (gw: string, a: string, submitter?: string) => {
    try {
      return acceptRecipient(m, gw, a, submitter).kind;
    } catch (err) {
      assert.ok(err instanceof MailbagError);
      return `${err.responseCode} ${err.enhancedCode}`;
    }
  };
  test("own postoffices from anyone; elsewhere only for submitters", () => {
    assert.equal(accept("GW-A", "x@po1.company.test"), "inbound");
    assert.equal(accept("GW-A", "x@nowhere.test"), "550 5.7.1");
    assert.equal(accept("GW-A", "x@nowhere.test", "PO1"), "smarthost");
    assert.equal(accept("GW-A", "x@po2.company.test", "PO1"), "backbone");
    assert.equal(accept("GW-A", "x@po2.company.test"), "550 5.7.1");
  });
  test("what another gateway's address space carries here is accepted from anyone", () => {
    assert.equal(accept("GW-B", "x@mail.partner.test"), "smarthost");
    assert.equal(accept("GW-A", "x@mail.partner.test"), "550 5.7.1");
  });
  test("refused routes keep their own code", () => {
    assert.equal(accept("GW-A", "x..y@po1.company.test"), "501 5.1.3");
  });
  test("a postoffice submits through the gateway that sends for it", () => {
    assert.equal(
      submittingPostoffice(m, "GW-A", "jdoe@po1.company.test", { address: "127.0.0.1" }),
      "PO1",
    );
    assert.equal(
      submittingPostoffice(m, "GW-B", "jdoe@po1.company.test", { address: "127.0.0.1" }),
      undefined,
    );
  });
});

describe("mailbag route explanations", () => {
  test("seed Q148389 both ways", () => {
    const m = backbone();
    assert.equal(
      formatExplanation(explainRoute(m, "GW-A", "jsmith@po2.company.test")),
      "jsmith@po2.company.test: GW-A → backbone (address space COMPANY/PO2/*) → GW-B → PO2 inbound mailbag",
    );
    assert.equal(
      formatExplanation(explainRoute(m, "GW-B", "jdoe@po1.company.test")),
      "jdoe@po1.company.test: GW-B → backbone (address space COMPANY/PO1/*) → GW-A → PO1 inbound mailbag",
    );
    const hops = formatHops(m, explainRoute(m, "GW-A", "COMPANY/PO2/JSMITH"));
    assert.match(
      hops[0] ?? "",
      /1\. GW-A: backbone to GW-B through its SMTP ingress \(smtp:\/\/gw-b\.company\.test:587\) — address space COMPANY\/PO2\/\* → GW-B \(addressSpaces\[0\], cost 1\)/,
    );
    assert.match(hops[1] ?? "", /2\. GW-B: PO2 inbound mailbag — PO2 is listed by GW-B/);
  });

  test("native, one-off, alias and smart-host routes", () => {
    const m = rich();
    const line = (gw: string, a: string) => formatExplanation(explainRoute(m, gw, a));
    assert.equal(
      line("GW1", "COMPANY/SALES/JSMITH"),
      "COMPANY/SALES/JSMITH (jsmith@sales.company.test): GW1 → SALES inbound mailbag",
    );
    assert.equal(
      line("GW1", "[SMTP:bob@partner.example]"),
      "[SMTP:bob@partner.example] (bob@partner.example): GW1 → smart host (partner.example is not in the address map)",
    );
    assert.equal(
      line("GW1", "postmaster@sales.company.test"),
      "postmaster@sales.company.test: GW1 → alias (postoffices[1].aliases.postmaster) → COMPANY/HQ/ADMIN → HQ inbound mailbag",
    );
    assert.equal(
      line("GW1", "x@east.company.test"),
      "x@east.company.test: GW1 → smart host (MX → GW2) → GW2 → EAST inbound mailbag",
    );
  });

  test("a loop between two misconfigured gateways is reported, 554 5.4.6", () => {
    const m = backbone((c) => {
      c.addressSpaces?.push(
        { pattern: "*.partner.test", gateway: "GW-B", from: ["GW-A"] },
        { pattern: "*.partner.test", gateway: "GW-A", from: ["GW-B"] },
      );
    });
    const e = explainRoute(m, "GW-A", "x@mail.partner.test");
    assert.equal(
      formatExplanation(e),
      "x@mail.partner.test: GW-A → backbone (address space *.partner.test) → GW-B → backbone (address space *.partner.test) → refused 554 5.4.6 (Routing loop detected: GW-A → GW-B → GW-A)",
    );
  });
});

describe("properties", () => {
  const maps = [
    map(),
    backbone(),
    rich(),
    map("examples/dedicated.json"),
    map("examples/multiple.json"),
  ];
  const domainOf = (m: AddressMap) =>
    fc.oneof(fc.constantFrom(...m.config.postoffices.map((po) => po.domain)), fc.domain());
  const local = fc.oneof(
    fc.constantFrom("postmaster", "jsmith", "ADMIN", "alice", "john.smith", "Sales.Desk"),
    fc.stringMatching(/^[A-Za-z0-9._+-]{1,12}$/),
  );

  test("routing is total: every address, from every gateway, gets exactly one route", () => {
    for (const m of maps) {
      fc.assert(
        fc.property(fc.constantFrom(...m.gateways.keys()), local, domainOf(m), (gw, l, d) => {
          const r = routeRecipient(m, gw, `${l}@${d}`);
          assert.ok(["inbound", "backbone", "smarthost", "refuse"].includes(r.kind));
          assert.deepEqual(routeRecipient(m, gw, `${l}@${d}`), r, "deterministic");
          if (r.kind === "refuse")
            assert.match(
              `${r.error.responseCode} ${r.error.enhancedCode}`,
              /^[45]\d\d [45]\.\d\.\d+$/,
            );
          const e = explainRoute(m, gw, `${l}@${d}`);
          assert.ok(e.hops.length >= 1 && e.hops.length <= m.gateways.size + 1);
        }),
      );
    }
  });

  test("every domain resolves to exactly one postoffice, and every postoffice's domain to it", () => {
    for (const m of maps) {
      for (const po of m.config.postoffices) {
        const owners = m.config.postoffices.filter(
          (p) => p.domain === po.domain.toUpperCase().toLowerCase(),
        );
        assert.equal(owners.length, 1);
        assert.equal(m.directory.postofficeOf(po.domain.toUpperCase()), po.id);
      }
      fc.assert(
        fc.property(fc.domain(), (d) => {
          const matches = m.config.postoffices.filter((p) => p.domain === d.toLowerCase());
          assert.ok(matches.length <= 1);
          assert.equal(m.directory.postofficeOf(d), matches[0]?.id);
        }),
      );
    }
  });
});

describe("router (core/route-message.ts)", () => {
  const envelope = (gateway: string, rcptTo: string[]) =>
    envelopeRecord({ id: "01TEST", gateway, mailFrom: "jdoe@po1.company.test", rcptTo });

  test("one delivery job per next hop, inbound copies, refused recipients recorded as failed", async () => {
    const m = backbone();
    const store = memoryStore();
    const queue = memoryQueue();
    store.objects.set(keys.message("01TEST"), Buffer.from("x"));
    await store.putJson(
      keys.envelope("01TEST"),
      envelope("GW-A", [
        "a@po1.company.test",
        "jsmith@po2.company.test",
        "mjones@po2.company.test",
        "bob@partner.test",
        "bad.name@po1.company.test",
      ]),
    );
    const outcome = await routeMessage(
      { map: m, store, queue, deliverQueue: "dq", pushQueue: "pq", now: () => new Date(0) },
      routeJob({ id: "01TEST", gateway: "GW-A" }),
    );
    assert.deepEqual(outcome, {
      kind: "routed",
      inbound: { PO1: ["a@po1.company.test"] },
      outbound: ["bob@partner.test"],
      backbone: { "GW-B": ["jsmith@po2.company.test", "mjones@po2.company.test"] },
      refused: {
        "bad.name@po1.company.test": `553 5.1.3 <bad.name@po1.company.test>: 'bad.name' is neither a mailbox name of PO1 (1-10 letters, digits, '-' or '_', starting with a letter or digit) nor one of its aliases`,
      },
    });
    assert.ok(store.objects.has(keys.inbound("PO1", "01TEST")));
    assert.deepEqual(
      queue.sent.map((j) => [j.dedup, (j.body as { recipients: string[] }).recipients]),
      [
        ["01TEST.GW-B", ["jsmith@po2.company.test", "mjones@po2.company.test"]],
        ["01TEST", ["bob@partner.test"]],
      ],
    );
    const status = store.objects.get(keys.status("01TEST")) as {
      recipients: Record<string, { state: string }>;
    };
    assert.equal(status.recipients["bad.name@po1.company.test"]?.state, "failed");
  });

  test("the delivery transport sends each job to its next hop", async () => {
    const m = backbone();
    const calls: string[] = [];
    const fake = (name: string): SmartHostTransport => ({
      async send(_from, to) {
        calls.push(`${name}:${to.join(",")}`);
        return { accepted: [...to], refused: [], reply: "250 ok" };
      },
    });
    const t = nextHopTransport(m, "GW-A", fake("smarthost"), (gw) => fake(gw));
    await t.send("a@po1.company.test", ["jsmith@po2.company.test"], Readable.from([]), 1);
    await t.send("a@po1.company.test", ["bob@partner.test"], Readable.from([]), 1);
    await assert.rejects(
      t.send(
        "a@po1.company.test",
        ["jsmith@po2.company.test", "bob@partner.test"],
        Readable.from([]),
        1,
      ),
      /several next hops/,
    );
    assert.deepEqual(calls, ["GW-B:jsmith@po2.company.test", "smarthost:bob@partner.test"]);
  });
});
