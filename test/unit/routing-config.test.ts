/**
 * The address map's validation (core/config.ts): each bad config gives one error naming its
 * fields, and `mailbag` prints it on one line with exit code 2.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { type ConfigInput, parseConfig } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";
import { config, exampleConfigs, rawConfig } from "../helpers/routing-fixtures.ts";

const CLI = new URL("../../cli/mailbag.ts", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "mailbag-config-"));

function bad(path: string, change: (c: ConfigInput) => void): ConfigError {
  const raw = rawConfig(path);
  change(raw);
  try {
    parseConfig(raw, {});
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail("config accepted");
}

/** `mailbag route` on the config: one stderr line, exit code 2. */
function cli(path: string, change: (c: ConfigInput) => void): string {
  const raw = rawConfig(path);
  change(raw);
  const file = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(raw));
  const r = spawnSync(process.execPath, [CLI, "route", "x@y.test", "-c", file], {
    encoding: "utf8",
  });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  return lines[0] ?? "";
}

const cases: [string, string, (c: ConfigInput) => void, RegExp][] = [
  [
    "duplicate domain",
    "mailbag.config.json",
    (c) => {
      (c.postoffices[1] as { domain: string }).domain = "HQ.company.test";
    },
    /postoffices\[1\]\.domain: hq\.company\.test is used by both postoffice HQ \(postoffices\[0\]\.domain\) and postoffice SALES/,
  ],
  [
    "a gateway naming an unknown postoffice",
    "mailbag.config.json",
    (c) => {
      c.gateways[0]?.postoffices.push("ENG");
    },
    /gateways\[0\]\.postoffices\[2\]: unknown postoffice ENG/,
  ],
  [
    "a postoffice received by two gateways",
    "examples/backbone.json",
    (c) => {
      c.gateways[1]?.postoffices.push("PO1");
    },
    /gateways\[1\]\.postoffices\[1\]: postoffice PO1 is received by two gateways: GW-A \(gateways\[0\]\.postoffices\[0\]\) and GW-B \(gateways\[1\]\.postoffices\[1\]\)/,
  ],
  [
    "a cycle of hub routes",
    "mailbag.config.json",
    (c) => {
      Object.assign(c.postoffices[0] as object, { via: "SALES" });
      Object.assign(c.postoffices[1] as object, { via: "HQ" });
    },
    /postoffices\[0\]\.via: hub routes form a cycle: HQ → SALES → HQ/,
  ],
  [
    "an address space pointing at no gateway",
    "examples/backbone.json",
    (c) => {
      Object.assign(c.addressSpaces?.[0] as object, { gateway: "GW-C" });
    },
    /addressSpaces\[0\]\.gateway: address space COMPANY\/PO2\/\* points at unknown gateway GW-C \(gateways: GW-A, GW-B\)/,
  ],
];

describe("bad address maps: one error naming the fields", () => {
  for (const [name, path, change, expected] of cases) {
    test(`${name}: ConfigError, and \`mailbag\` exits 2 with one line`, () => {
      assert.match(bad(path, change).message, expected);
      const line = cli(path, change);
      assert.match(line, /^mailbag: invalid configuration: /);
      assert.match(line, expected);
    });
  }

  test("other reference errors name their field", () => {
    const cases: [string, (c: ConfigInput) => void, RegExp][] = [
      [
        "examples/backbone.json",
        (c) => Object.assign(c.postoffices[0] as object, { via: "PO9" }),
        /postoffices\[0\]\.via: unknown postoffice PO9/,
      ],
      [
        "mailbag.config.json",
        (c) =>
          Object.assign(c.postoffices[1] as object, {
            aliases: { postmaster: "COMPANY/ENG/ADMIN" },
          }),
        /postoffices\[1\]\.aliases\.postmaster: unknown postoffice ENG/,
      ],
      [
        "mailbag.config.json",
        (c) => Object.assign(c.postoffices[1] as object, { aliases: { postmaster: "COMPANY/HQ" } }),
        /postoffices\[1\]\.aliases\.postmaster: .*expected NETWORK\/POSTOFFICE\/MAILBOX/,
      ],
      [
        "examples/backbone.json",
        (c) => Object.assign(c.addressSpaces?.[0] as object, { pattern: "OTHER/PO2/*" }),
        /addressSpaces\[0\]\.pattern: network OTHER is not this network/,
      ],
      [
        "examples/backbone.json",
        (c) => Object.assign(c.addressSpaces?.[0] as object, { pattern: "COMPANY/PO2/JSMITH" }),
        /addressSpaces\[0\]\.pattern: a native address space is NETWORK\/POSTOFFICE\/\*/,
      ],
      [
        "examples/backbone.json",
        (c) => Object.assign(c.addressSpaces?.[0] as object, { from: ["GW-B"] }),
        /addressSpaces\[0\]\.from\[0\]: gateway GW-B cannot route to itself/,
      ],
      [
        "examples/backbone.json",
        (c) => Object.assign(c.gateways[1] as object, { mode: "send" }),
        /addressSpaces\[0\]\.gateway: gateway GW-B is send-only/,
      ],
      [
        "examples/backbone.json",
        (c) => Object.assign(c.addressSpaces?.[0] as object, { bogus: 1 }),
        /addressSpaces\[0\]: .*bogus/,
      ],
      [
        "mailbag.config.json",
        (c) => Object.assign(c.postoffices[1] as object, { unknownMailbox: "drop" }),
        /postoffices\[1\]\.unknownMailbox/,
      ],
    ];
    for (const [path, change, expected] of cases) assert.match(bad(path, change).message, expected);
  });

  test("a hub's downstream postoffice listed by another gateway than its hub's is refused", () => {
    const e = bad("examples/backbone.json", (c) => {
      Object.assign(c.postoffices[1] as object, { via: "PO1" });
    });
    assert.match(
      e.message,
      /postoffices\[1\]\.via: PO2 is reached via hub PO1, which is received by GW-A, but gateways\[1\]\.postoffices\[0\] has PO2 received by GW-B/,
    );
  });
});

describe("valid maps", () => {
  test("the default config and every example stay valid", () => {
    const examples = exampleConfigs();
    assert.ok(examples.length >= 5, `only ${examples.join(", ")} found`);
    for (const path of ["mailbag.config.json", ...examples]) assert.ok(config(path), path);
  });

  test("defaults: accept every mailbox, no aliases, no address spaces, 100 hops", () => {
    const c = config();
    assert.equal(c.postoffices[0]?.unknownMailbox, "accept");
    assert.deepEqual(c.postoffices[0]?.aliases, {});
    assert.deepEqual(c.addressSpaces, []);
    assert.equal(c.limits.maxHops, 100);
  });
});
