/**
 * Administration (core/config-edit.ts, cli/admin.ts): edits validated before writing, written
 * atomically, refused with one line naming the fields, file left unchanged.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { formatJson } from "../../cli/format-json.ts";
import { parseConfig } from "../../core/config.ts";
import * as edit from "../../core/config-edit.ts";
import { ConfigError } from "../../core/errors.ts";
import { rawConfig } from "../helpers/routing-fixtures.ts";

const CLI = new URL("../../cli/mailbag.ts", import.meta.url).pathname;

/** A copy of a repository config in a fresh directory. */
function copy(path = "mailbag.config.json"): string {
  const dir = mkdtempSync(join(tmpdir(), "mailbag-admin-"));
  const file = join(dir, "mailbag.config.json");
  copyFileSync(new URL(`../../${path}`, import.meta.url), file);
  return file;
}

function mailbag(file: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args, "-c", file], { encoding: "utf8" });
  return { status: r.status, out: r.stdout, err: r.stderr.trimEnd() };
}

describe("mailbag postoffice", () => {
  test("create: validated, written atomically, readable, then routable", () => {
    const file = copy();
    const r = mailbag(
      file,
      "postoffice",
      "create",
      "eng",
      "--domain",
      "Eng.Company.Test",
      "--gateway",
      "GW1",
      "--unknown-mailbox",
      "listed",
      "--mailbox",
      "ALICE,BOB",
    );
    assert.equal(r.status, 0, r.err);
    assert.equal(r.out, "mailbag: postoffice ENG created (Eng.Company.Test)\n");
    const text = readFileSync(file, "utf8");
    assert.match(text, /\n {4}\{\n {6}"id": "eng",\n/);
    assert.match(text, /"mailboxes": \["ALICE", "BOB"\]/);
    assert.deepEqual(
      readdirSync(join(file, "..")),
      ["mailbag.config.json"],
      "no temporary file left",
    );
    const config = parseConfig(JSON.parse(text), {});
    assert.deepEqual(config.gateways[0]?.postoffices, ["HQ", "SALES", "ENG"]);
    const route = mailbag(file, "route", "bob@eng.company.test", "--brief");
    assert.equal(route.out, "bob@eng.company.test: GW1 → ENG inbound mailbag\n");
    const refused = mailbag(file, "route", "carol@eng.company.test", "--brief");
    assert.match(
      refused.out,
      /refused 550 5\.1\.1 \(<carol@eng\.company\.test>: no mailbox CAROL on postoffice ENG\)/,
    );
  });

  test("a domain already used is refused naming both postoffices; the file is unchanged", () => {
    const file = copy();
    const before = readFileSync(file, "utf8");
    const r = mailbag(
      file,
      "postoffice",
      "create",
      "ENG",
      "--domain",
      "SALES.company.test",
      "--gateway",
      "GW1",
    );
    assert.equal(r.status, 2);
    assert.equal(r.err.split("\n").length, 1);
    assert.match(
      r.err,
      /^mailbag postoffice: postoffices\[2\]\.domain: sales\.company\.test is used by both postoffice SALES \(postoffices\[1\]\.domain\) and postoffice ENG; .* not changed$/,
    );
    assert.equal(readFileSync(file, "utf8"), before);
  });

  test("modify and delete; delete is refused while something still names the postoffice", () => {
    const file = copy("examples/backbone.json");
    assert.equal(
      mailbag(file, "postoffice", "modify", "PO2", "--domain", "site-b.company.test").status,
      0,
    );
    assert.equal(
      mailbag(file, "route", "x@site-b.company.test", "-g", "GW-B", "--brief").out,
      "x@site-b.company.test: GW-B → PO2 inbound mailbag\n",
    );
    const refused = mailbag(file, "postoffice", "delete", "PO2");
    assert.equal(refused.status, 2);
    assert.match(
      refused.err,
      /addressSpaces\[0\]\.pattern: address space COMPANY\/PO2\/\* covers PO2/,
    );
    assert.equal(mailbag(file, "address-map", "remove", "space", "COMPANY/PO2/*").status, 0);
    const empty = mailbag(file, "postoffice", "delete", "PO2");
    assert.match(empty.err, /gateways\[1\]\.postoffices: .*>=1/, "GW-B would serve nothing");
    assert.equal(
      mailbag(file, "gateway", "modify", "GW-B", "--postoffice", "PO1", "--mode", "send").status,
      2,
    );
  });
});

describe("mailbag address-map and gateway", () => {
  test("aliases and address spaces: add, list, remove", () => {
    const file = copy("examples/backbone.json");
    assert.equal(
      mailbag(
        file,
        "address-map",
        "add",
        "alias",
        "Postmaster@po2.company.test",
        "COMPANY/PO1/ADMIN",
      ).status,
      0,
    );
    assert.equal(
      mailbag(file, "route", "postmaster@po2.company.test", "-g", "GW-B", "--brief").out,
      "postmaster@po2.company.test: GW-B → alias (postoffices[1].aliases.postmaster) → COMPANY/PO1/ADMIN → backbone (address space COMPANY/PO1/*) → GW-A → PO1 inbound mailbag\n",
    );
    assert.equal(
      mailbag(
        file,
        "address-map",
        "add",
        "space",
        "*.partner.test",
        "--gateway",
        "GW-B",
        "--cost",
        "5",
      ).status,
      0,
    );
    const list = mailbag(file, "address-map", "list").out;
    assert.match(list, /postmaster@po2\.company\.test\s+COMPANY\/PO1\/ADMIN/);
    assert.match(list, /2\s+\*\.partner\.test\s+GW-B\s+5\s+GW-A/);
    const bad = mailbag(file, "address-map", "add", "space", "*.x.test", "--gateway", "GW-C");
    assert.equal(bad.status, 2);
    assert.match(
      bad.err,
      /addressSpaces\[3\]\.gateway: address space \*\.x\.test points at unknown gateway GW-C/,
    );
    assert.equal(
      mailbag(file, "address-map", "remove", "alias", "postmaster@po2.company.test").status,
      0,
    );
    assert.equal(
      mailbag(file, "address-map", "remove", "space", "*.partner.test", "--gateway", "GW-B").status,
      0,
    );
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), {
      ...rawConfig("examples/backbone.json"),
      postoffices: rawConfig("examples/backbone.json").postoffices.map((po, i) =>
        i === 1 ? { ...po, aliases: {} } : po,
      ),
    });
  });

  test("gateways: create, refused delete while routed to, list", () => {
    const file = copy("examples/backbone.json");
    assert.equal(
      mailbag(file, "postoffice", "create", "PO3", "--domain", "po3.company.test").status,
      0,
    );
    assert.match(
      mailbag(file, "route", "x@po3.company.test", "-b").out,
      /refused 550 5\.1\.2 .*PO3 is received by no gateway/,
    );
    assert.equal(
      mailbag(file, "gateway", "create", "GW-C", "--mode", "receive", "--postoffice", "PO3").status,
      0,
    );
    assert.equal(
      mailbag(file, "route", "x@po3.company.test", "-b", "-g", "GW-C").out,
      "x@po3.company.test: GW-C → PO3 inbound mailbag\n",
    );
    const c = mailbag(
      file,
      "gateway",
      "create",
      "GW-D",
      "--mode",
      "receive",
      "--postoffice",
      "PO1",
    );
    assert.equal(c.status, 2);
    assert.match(
      c.err,
      /postoffice PO1 is received by two gateways: GW-A \(gateways\[0\]\.postoffices\[0\]\) and GW-D/,
    );
    const d = mailbag(file, "gateway", "delete", "GW-B");
    assert.match(
      d.err,
      /addressSpaces\[0\]\.gateway: address space COMPANY\/PO2\/\* routes to GW-B/,
    );
    assert.match(
      mailbag(file, "gateway", "list").out,
      /GW-A\s+both\s+PO1\s+gw-a\.company\.test\s+192\.0\.2\.10/,
    );
  });
});

describe("config-edit", () => {
  test("errors name the field", () => {
    const raw = rawConfig("mailbag.config.json");
    assert.throws(
      () => edit.createPostoffice(raw, "hq", { domain: "x.test" }, []),
      (e: unknown) => e instanceof ConfigError && e.path === "postoffices[0].id",
    );
    assert.throws(() => edit.modifyPostoffice(raw, "NOPE", {}), /no postoffice NOPE/);
    assert.throws(
      () => edit.removeAlias(raw, "postmaster@hq.company.test"),
      /postoffices\[0\]\.aliases: no alias/,
    );
    assert.throws(() => edit.removeSpace(raw, "*"), /addressSpaces: no address space \*/);
  });

  test("formatJson keeps short objects on one line and the result parses back", () => {
    const raw = rawConfig("examples/multiple.json");
    const text = formatJson(raw);
    assert.deepEqual(JSON.parse(text), raw);
    assert.ok(text.split("\n").every((l) => l.length <= 100));
    assert.match(text, /"queues": \{ "visibilityTimeoutSeconds": 120, "maxReceiveCount": 8 \}/);
  });
});
