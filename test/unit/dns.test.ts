/** `mailbag dns` (core/dns.ts): hosts-table lines and MX records per layout. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { dnsRecords, layoutOf } from "../../core/dns.ts";
import { map } from "../helpers/routing-fixtures.ts";

const CLI = new URL("../../cli/mailbag.ts", import.meta.url).pathname;
const ROOT = new URL("../..", import.meta.url).pathname;

describe("mailbag dns", () => {
  test("default config: a hosts line and an MX record for hq and sales, at GW1", () => {
    const r = spawnSync(process.execPath, [CLI, "dns"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split("\n");
    for (const line of [
      "127.0.0.1 hq.company.test",
      "127.0.0.1 sales.company.test",
      "hq.company.test. MX 10 msmailgwy.company.test.",
      "sales.company.test. MX 10 msmailgwy.company.test.",
    ]) {
      assert.ok(lines.includes(line), `${line} in\n${r.stdout}`);
    }
    assert.match(r.stdout, /layout single/);
  });

  test("each domain points at the gateway that receives it, hubs included", () => {
    const m = map("examples/backbone.json", (c) => {
      c.postoffices.push({ id: "PO3", domain: "po3.company.test", via: "PO2" });
    });
    assert.deepEqual(dnsRecords(m).hosts, [
      "192.0.2.10 po1.company.test",
      "192.0.2.20 po2.company.test",
      "192.0.2.20 po3.company.test",
    ]);
    assert.deepEqual(dnsRecords(m).mx, [
      "po1.company.test. MX 10 gw-a.company.test.",
      "po2.company.test. MX 10 gw-b.company.test.",
      "po3.company.test. MX 10 gw-b.company.test.",
    ]);
  });

  test("dedicated layouts point MX at the receive gateway; missing addresses are noted", () => {
    const m = map("examples/dedicated.json");
    const r = dnsRecords(m);
    assert.equal(r.layout, "dedicated");
    assert.deepEqual(r.mx.slice(0, 1), ["hq.company.example. MX 10 mx.company.example."]);
    assert.deepEqual(r.hosts, []);
    assert.match(
      r.notes[0] ?? "",
      /^; hq\.company\.example: no hosts-table line, gateway RECV has no gateways\[1\]\.address/,
    );
  });

  test("layouts of seed Q132060", () => {
    assert.equal(layoutOf(map().config), "single");
    assert.equal(layoutOf(map("examples/multiple.json").config), "multiple");
    assert.equal(layoutOf(map("examples/backbone.json").config), "multiple");
  });
});
