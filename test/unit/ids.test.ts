/** Message ids (core/ids.ts). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MESSAGE_ID_PATTERN, newMessageId } from "../../core/ids.ts";

describe("message ids", () => {
  test("are ULIDs that sort by acceptance time", () => {
    const a = newMessageId(Date.UTC(2026, 10, 23, 7, 0, 0));
    const b = newMessageId(Date.UTC(2026, 10, 23, 7, 0, 1));
    assert.match(a, MESSAGE_ID_PATTERN);
    assert.ok(a < b);
    assert.notEqual(newMessageId(), newMessageId());
  });
});
