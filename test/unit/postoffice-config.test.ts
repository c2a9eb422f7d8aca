/** `postoffices[].inbound` (docs/postoffices.md): push to a server, or pickup by default. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ConfigInput } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";
import { config } from "../helpers/routing-fixtures.ts";

const withInbound = (inbound: unknown) => (c: ConfigInput) => {
  Object.assign(c.postoffices[1] as object, { inbound });
};

function refused(inbound: unknown): string {
  try {
    config("mailbag.config.json", withInbound(inbound));
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail(`accepted ${JSON.stringify(inbound)}`);
}

describe("postoffices[].inbound", () => {
  test("absent: pickup, so today's configs keep working", () => {
    assert.equal(config().postoffices[1]?.inbound, undefined);
  });

  test("push over SMTP, SMTPS or LMTP, with credentials, trailing slash dropped", () => {
    for (const url of [
      "smtp://127.0.0.1:2680",
      "smtps://user:pass@mail.sales.company.test",
      "lmtp://[::1]:24",
    ]) {
      const po = config("mailbag.config.json", withInbound({ deliver: `${url}/` })).postoffices[1];
      assert.deepEqual(po?.inbound, { deliver: url });
    }
  });

  test("anything else is refused naming the field", () => {
    assert.match(
      refused({ deliver: "http://x:80" }),
      /^postoffices\[1\]\.inbound\.deliver: smtp:\/\//,
    );
    assert.match(refused({ deliver: "smtp://host/path" }), /postoffices\[1\]\.inbound\.deliver/);
    assert.match(refused({ deliver: 25 }), /postoffices\[1\]\.inbound\.deliver/);
    assert.match(
      refused({ pickup: true }),
      /postoffices\[1\]\.inbound\.deliver: .*expected string/,
    );
    assert.match(refused("push"), /postoffices\[1\]\.inbound/);
  });
});
