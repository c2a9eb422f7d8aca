/** The error catalogue (core/errors.ts): one place for every SMTP reply, stable codes. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, test } from "node:test";
import { parseConfig } from "../../core/config.ts";
import {
  authFailed,
  BackendUnavailableError,
  ConfigError,
  isConfigError,
  isMailbagError,
  localError,
  MailbagError,
  MessageTooLargeError,
  messageTooLarge,
  noSuchMailbox,
  relayingDenied,
  routingLoop,
  tooManyRecipients,
} from "../../core/errors.ts";
import { rawConfig } from "../helpers/routing-fixtures.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const CATALOGUE = "core/errors.ts";

/**
 * An RFC 3463 enhanced status code as code writes it: at the start of a string (`"5.7.1"`,
 * `` `4.4.1 ${…}` ``) or after a basic reply code (`550 5.7.1`, in code or comments). Version
 * numbers (`fauxqs 2.4.1`) and RFC sections (`§4.5.3.1`) are neither.
 */
const ENHANCED_CODE = /(?:["'`]|\b[245]\d\d[ -])[245]\.\d{1,3}\.\d{1,3}\b/;
const all = (text: string) => [...text.matchAll(new RegExp(ENHANCED_CODE, "g"))].map((m) => m[0]);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs|js)$/.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

describe("one catalogue: no enhanced status code outside core/errors.ts", () => {
  test("core/, functions/, cli/ and infra/ (code and comments) name replies by factory", () => {
    const files = ["core", "functions", "cli", "infra"].flatMap(sources);
    assert.ok(files.length > 40, `only ${files.length} source files found`);
    assert.ok(files.includes(CATALOGUE));
    const found = files
      .filter((f) => f !== CATALOGUE)
      .flatMap((f) =>
        readFileSync(join(ROOT, f), "utf8")
          .split("\n")
          .flatMap((line, i) => all(line).map((m) => `${f}:${i + 1}: ${m}`)),
      );
    assert.deepEqual(found, []);
  });

  test("the scan recognises a code, and the catalogue has them", () => {
    for (const code of ['super(451, "4.3.0", r)', "`4.4.1 $" + "{m}`", "refused (554 5.4.6)"])
      assert.match(code, ENHANCED_CODE);
    for (const prose of ["RFC 5321 §4.5.3.1.8", "fauxqs 2.4.1 binds", "fauxqs+2.4.1.patch"])
      assert.doesNotMatch(prose, ENHANCED_CODE);
    const catalogue = all(readFileSync(join(ROOT, CATALOGUE), "utf8"));
    assert.ok(catalogue.length >= 10, `only ${catalogue.length} codes in the catalogue`);
  });
});

describe("factories carry reply and code", () => {
  test("each named reply", () => {
    const cases: [MailbagError, string, string][] = [
      [relayingDenied("x@y.test"), "relaying-denied", "550 5.7.1 Relaying denied for <x@y.test>"],
      [
        noSuchMailbox("<a@b.test>: no mailbox A"),
        "no-such-mailbox",
        "550 5.1.1 <a@b.test>: no mailbox A",
      ],
      [routingLoop("GW1 → GW1"), "routing-loop", "554 5.4.6 Routing loop detected: GW1 → GW1"],
      [
        tooManyRecipients(100),
        "too-many-recipients",
        "452 4.5.3 Too many recipients (at most 100)",
      ],
      [authFailed(), "auth-failed", "535 5.7.8 Authentication credentials invalid"],
      [localError(), "local-error", "451 4.3.0 Temporary local problem, try again later"],
      [
        messageTooLarge(10),
        "message-too-large",
        "552 5.3.4 Message size exceeds fixed maximum message size (10 bytes)",
      ],
    ];
    for (const [err, code, reply] of cases) {
      assert.equal(err.code, code);
      assert.equal(err.reply, reply);
      assert.ok(isMailbagError(err));
    }
  });

  test("isMailbagError needs no instanceof: a copy from another bundle is recognised", () => {
    const copy = { ...new BackendUnavailableError("S3 down"), code: "backend-unavailable" };
    Object.assign(copy, { responseCode: 451, enhancedCode: "4.3.0", reason: "S3 down" });
    assert.ok(isMailbagError(copy));
    assert.ok(!isMailbagError(new Error("plain")));
    assert.ok(!isMailbagError(Object.assign(new Error("node"), { code: "ECONNRESET" })));
  });

  test("a ConfigError is no SMTP error: its own class, a path, exit code 2", () => {
    const err = new ConfigError("postoffices[0].id", "bad");
    assert.ok(!(err instanceof MailbagError));
    assert.ok(!isMailbagError(err));
    assert.ok(isConfigError(err));
    assert.equal(err.path, "postoffices[0].id");
    assert.equal(err.exitCode, 2);
    assert.equal(err.message, "postoffices[0].id: bad");
  });

  test("a config with several faults reports every one, each naming its field", () => {
    const raw = rawConfig("mailbag.config.json");
    (raw.postoffices[1] as { domain: string }).domain = "hq.company.test";
    raw.gateways[0]?.postoffices.push("ENG");
    try {
      parseConfig(raw, {});
      assert.fail("config accepted");
    } catch (err) {
      assert.ok(isConfigError(err), String(err));
      assert.deepEqual(
        err.issues.map((i) => i.path),
        ["postoffices[1].domain", "gateways[0].postoffices[2]"],
      );
    }
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
    assert.equal(relayingDenied("a@b.test").transient, false);
  });
});
