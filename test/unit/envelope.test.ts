/** Stored records: envelopes and jobs as the spool keeps them (core/envelope.ts). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseDeliverJob, parseEnvelope, parseJson } from "../../core/envelope.ts";
import { MalformedRecordError } from "../../core/errors.ts";
import { deliverJob, envelopeRecord } from "../helpers/records.ts";

describe("stored records", () => {
  // As stored before `params` existed: parsing supplies the default.
  const { params: _params, ...envelope } = envelopeRecord();

  test("a valid envelope parses (the null sender included), params default to {}", () => {
    assert.deepEqual(parseEnvelope(envelope).params, {});
  });

  test("a corrupt envelope names the field", () => {
    assert.throws(
      () => parseEnvelope({ ...envelope, rcptTo: [] }),
      (e: unknown) =>
        e instanceof MalformedRecordError && /malformed envelope: rcptTo: /.test(e.message),
    );
    assert.throws(
      () => parseEnvelope({ ...envelope, sha256: "xyz" }),
      /malformed envelope: sha256/,
    );
    assert.throws(() => parseDeliverJob({ ...deliverJob(), extra: 1 }), /Unrecognized key/);
    assert.throws(() => parseJson("route job", "{not json"), /malformed route job/);
  });
});
