/**
 * `mailbag check`: every config problem at once, one line each naming its field, exit 2; a JSON
 * syntax error with its line and column; a valid config exit 0.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { jsonErrorPosition } from "../../core/json-position.ts";

const CLI = new URL("../../cli/mailbag.ts", import.meta.url).pathname;
const DEFAULT = readFileSync(new URL("../../mailbag.config.json", import.meta.url), "utf8");

function check(text: string) {
  const file = join(mkdtempSync(join(tmpdir(), "mailbag-check-")), "c.json");
  writeFileSync(file, text);
  const r = spawnSync(process.execPath, [CLI, "check", "-c", file], { encoding: "utf8" });
  return { status: r.status, out: r.stdout, err: r.stderr.trimEnd() };
}

describe("mailbag check", () => {
  test("the repository's config is valid: exit 0", () => {
    const r = check(DEFAULT);
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /: valid \(network COMPANY/);
  });

  test("three mistakes in three fields: three lines naming them, exit 2", () => {
    const c = JSON.parse(DEFAULT);
    c.prefix = "Bad_Prefix";
    c.postoffices[0].domain = "not a domain";
    c.gateways[0].mode = "sideways";
    const r = check(JSON.stringify(c));
    assert.equal(r.status, 2);
    const lines = r.err.split("\n");
    assert.equal(lines.length, 3, r.err);
    assert.deepEqual(
      lines.map((l) => /^mailbag: invalid configuration: (\S+): /.exec(l)?.[1]),
      ["prefix", "postoffices[0].domain", "gateways[0].mode"],
    );
  });

  test("invalid JSON: line and column", () => {
    const r = check('{\n  "network": "COMPANY",\n  "prefix": ,\n}\n');
    assert.equal(r.status, 2);
    assert.match(r.err, /not valid JSON at line 3, column 13: unexpected ","$/);
  });
});

describe("jsonErrorPosition", () => {
  test("agrees with JSON.parse on what is valid, and points at the first bad character", () => {
    const cases: [string, number | undefined][] = [
      ['{"a": [1, 2.5e3, null, true, false, "\\u00e9"]}', undefined],
      ["[1,2,]", 5],
      ['{"a" 1}', 5],
      ['{"a": tru}', 9],
      ["  {} x", 5],
      ["", 0],
      ['{"a": "x\\q"}', 9],
    ];
    for (const [text, offset] of cases) {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      assert.equal(jsonErrorPosition(text) === undefined, valid, text);
      assert.equal(jsonErrorPosition(text)?.offset, offset, text);
    }
  });
});
