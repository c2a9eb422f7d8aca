/** The .eml fixtures the unit and integration tests use. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

describe("fixtures are real RFC 5322 messages", () => {
  test("CRLF line endings and a header block", () => {
    for (const name of ["plain.eml", "multipart-attachment.eml", "utf8-8bit.eml"]) {
      const raw = readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "latin1");
      assert.ok(raw.includes("\r\n\r\n"), name);
      assert.doesNotMatch(raw, /[^\r]\n/, `${name} has bare LF`);
    }
  });
});
