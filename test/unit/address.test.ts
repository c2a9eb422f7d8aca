/** Address forms and conversions (core/address.ts, docs/routing.md#addresses). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { parse as parseRfc5321 } from "smtp-address-parser";
import {
  formatAddress,
  formatSmtp,
  parseAnyAddress,
  parseNativeAddress,
  parseOneOff,
  parseSmtpAddress,
  toNative,
  toSmtp,
} from "../../core/address.ts";
import { AddressError } from "../../core/errors.ts";
import { map } from "../helpers/routing-fixtures.ts";

const reason = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof AddressError, `AddressError expected, got ${err}`);
    assert.equal(err.responseCode, 501);
    assert.equal(err.enhancedCode, "5.1.3");
    return err.reason;
  }
  assert.fail("no error");
};

describe("SMTP addresses (RFC 5321 §4.1.2)", () => {
  test("dot-strings, quoted strings and address literals parse; domains go lower-case", () => {
    assert.deepEqual(parseSmtpAddress("JSmith@Sales.Company.TEST"), {
      kind: "smtp",
      local: "JSmith",
      domain: "sales.company.test",
      quoted: false,
    });
    const quoted = parseSmtpAddress('"john \\"j\\" smith"@x.test');
    assert.equal(quoted.local, 'john "j" smith');
    assert.equal(formatSmtp(quoted), '"john \\"j\\" smith"@x.test');
    assert.equal(parseSmtpAddress("a@[192.0.2.1]").domain, "[192.0.2.1]");
  });

  test("invalid forms get a precise reason", () => {
    assert.match(
      reason(() => parseSmtpAddress("")),
      /empty address/,
    );
    assert.match(
      reason(() => parseSmtpAddress("jsmith")),
      /no '@'/,
    );
    assert.match(
      reason(() => parseSmtpAddress("@x.test")),
      /empty local part/,
    );
    assert.match(
      reason(() => parseSmtpAddress("a@")),
      /empty domain/,
    );
    assert.match(
      reason(() => parseSmtpAddress("a..b@x.test")),
      /unexpected "\." at position 3 \(in the local part/,
    );
    assert.match(
      reason(() => parseSmtpAddress("a@x_y.test")),
      /unexpected "_" at position 4 \(in the domain/,
    );
    assert.match(
      reason(() => parseSmtpAddress("a@localhost")),
      /not fully qualified/,
    );
    assert.match(
      reason(() => parseSmtpAddress(`${"a".repeat(65)}@x.test`)),
      /local part is 65 octets/,
    );
    assert.match(
      reason(() => parseSmtpAddress(`a@${"b".repeat(250)}.test`)),
      /octets/,
    );
  });
});

describe("native and one-off addresses", () => {
  test("NETWORK/PO/MAILBOX is case-insensitive and upper-case", () => {
    assert.deepEqual(parseNativeAddress("company/sales/jsmith"), {
      kind: "native",
      network: "COMPANY",
      postoffice: "SALES",
      mailbox: "JSMITH",
    });
  });

  test("names longer than 10 characters or with other characters are refused, naming the part", () => {
    assert.match(
      reason(() => parseNativeAddress("COMPANY/SALES")),
      /got 2 part/,
    );
    assert.match(
      reason(() => parseNativeAddress("COMPANY/SALES/ABCDEFGHIJK")),
      /mailbox name 'ABCDEFGHIJK'/,
    );
    assert.match(
      reason(() => parseNativeAddress("COMPANY/SA.LES/X")),
      /postoffice name 'SA\.LES'/,
    );
    assert.match(
      reason(() => parseNativeAddress("-CO/SALES/X")),
      /network name '-CO'/,
    );
  });

  test("one-offs wrap an SMTP address, [SMTP:...] in any case", () => {
    const a = parseOneOff("[smtp:Bob@Partner.test]");
    assert.equal(formatAddress(a), "[SMTP:Bob@partner.test]");
    assert.match(
      reason(() => parseOneOff("[X400:c=us]")),
      /one-off/,
    );
    assert.match(
      reason(() => parseAnyAddress("jsmith")),
      /neither/,
    );
  });

  test("conversion: native ↔ SMTP in postoffice domains, one-offs elsewhere", () => {
    const { directory } = map();
    assert.equal(
      formatAddress(toSmtp(directory, parseAnyAddress("COMPANY/SALES/JSMITH"))),
      "jsmith@sales.company.test",
    );
    assert.equal(
      formatAddress(toNative(directory, parseSmtpAddress("JSmith@SALES.company.test"))),
      "COMPANY/SALES/JSMITH",
    );
    assert.equal(
      formatAddress(toNative(directory, parseSmtpAddress("john.smith@sales.company.test"))),
      "[SMTP:john.smith@sales.company.test]",
    );
    assert.match(
      reason(() => toSmtp(directory, parseAnyAddress("OTHER/SALES/X"))),
      /network OTHER/,
    );
    assert.match(
      reason(() => toSmtp(directory, parseAnyAddress("COMPANY/NOPE/X"))),
      /postoffice NOPE/,
    );
  });
});

const nameChar = fc.constantFrom(
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
);
const alnum = fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
/** Every valid MS Mail name: 1-10 characters, starting alphanumeric. */
const msMailName = fc
  .tuple(alnum, fc.array(nameChar, { maxLength: 9 }))
  .map(([first, rest]) => first + rest.join(""));

describe("properties", () => {
  const m = map();
  const postoffice = fc.constantFrom(...m.config.postoffices.map((po) => po.id));

  test("native → SMTP → native is the identity (names upper-case) for every valid mailbox", () => {
    fc.assert(
      fc.property(postoffice, msMailName, (po, mailbox) => {
        const native = parseNativeAddress(`company/${po.toLowerCase()}/${mailbox}`);
        const back = toNative(
          m.directory,
          parseSmtpAddress(formatSmtp(toSmtp(m.directory, native))),
        );
        assert.deepEqual(back, native);
      }),
    );
  });

  test("SMTP → native → SMTP keeps the address (local part lower-case in postoffice domains)", () => {
    const local = fc.stringMatching(
      /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\.[A-Za-z0-9_-]{1,10}){0,2}$/,
    );
    const domain = fc.oneof(
      fc.constantFrom(...m.config.postoffices.map((po) => po.domain.toUpperCase())),
      fc.domain(),
    );
    fc.assert(
      fc.property(local, domain, (l, d) => {
        const smtp = parseSmtpAddress(`${l}@${d}`);
        const back = toSmtp(
          m.directory,
          parseAnyAddress(formatAddress(toNative(m.directory, smtp))),
        );
        const inPostoffice = m.directory.postofficeOf(smtp.domain) !== undefined;
        const expected =
          inPostoffice && /^[A-Za-z0-9][A-Za-z0-9_-]{0,9}$/.test(l) ? l.toLowerCase() : l;
        assert.equal(formatSmtp(back), `${expected}@${d.toLowerCase()}`);
      }),
    );
  });

  test("the plain-address shortcut agrees with the RFC 5321 grammar (smtp-address-parser) on every address", () => {
    // Strings close to addresses: atext, dots, hyphens, digits, quotes, brackets, UTF-8, and
    // now and then a second '@', either side of one '@'.
    const piece = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.constantFrom("a", "Z", "0", "9", "ab", "x1", "com", ".", ".test", "-"),
      },
      { weight: 1, arbitrary: fc.constantFrom(..."._!~+'@\\\"[]: é".split(""), ".1", "1") },
    );
    const side = (max: number) =>
      fc.array(piece, { minLength: 1, maxLength: max }).map((ps) => ps.join(""));
    const candidate = fc.tuple(side(6), side(8)).map(([l, d]) => `${l}@${d}`);
    const outcome = (f: () => { local: string; domain: string }) => {
      try {
        const { local, domain } = f();
        return { local, domain: domain.toLowerCase() };
      } catch {
        return "refused";
      }
    };
    const library = (s: string) => {
      const t = parseRfc5321(s);
      const quoted = t.localPart.QuotedString;
      return {
        local: quoted ? quoted.slice(1, -1).replace(/\\(.)/g, "$1") : (t.localPart.DotString ?? ""),
        domain: t.domainPart.DomainName ?? t.domainPart.AddressLiteral ?? "",
      };
    };
    let accepted = 0;
    fc.assert(
      fc.property(candidate, (s) => {
        const ours = outcome(() => parseSmtpAddress(s));
        assert.deepEqual(
          ours,
          outcome(() => library(s)),
          s,
        );
        if (ours !== "refused") accepted++;
      }),
      { numRuns: 20_000 },
    );
    assert.ok(accepted > 100, `only ${accepted} generated addresses were valid`);
  });
});
