/**
 * The CLI explains itself: every command answers `--help` and `mailbag help <command>` with its
 * options and an example (exit 0), and the README documents every option and variable.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { COMMANDS, HELP_HELP } from "../../cli/commands.ts";
import { type CommandHelp, formatHelp } from "../../cli/help.ts";

const CLI = new URL("../../cli/mailbag.ts", import.meta.url).pathname;
const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

function mailbag(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const specs: CommandHelp[] = [...Object.values(COMMANDS).map((c) => c.help), HELP_HELP];

describe("mailbag help", () => {
  test("every command has a summary, a usage, documented options and one example", () => {
    assert.ok(specs.length >= 8, `commands: ${specs.length}`);
    for (const spec of specs) {
      const text = formatHelp(spec);
      assert.match(text, new RegExp(`^usage: mailbag ${spec.name}`), spec.name);
      assert.match(text, /\nexample:\n {2}.*\bmailbag /, spec.name);
      for (const [name, o] of Object.entries(spec.options)) {
        assert.ok(o.help.length > 5, `${spec.name} --${name} says what it does`);
        assert.ok(text.includes(`--${name}`), `${spec.name} --${name} printed`);
      }
    }
  });

  test("`route --help`, `queue --help` and `help route`: the same text, exit 0, nothing on stderr", () => {
    for (const name of ["route", "queue"].filter((n) => COMMANDS[n])) {
      const a = mailbag(name, "--help");
      assert.equal(a.status, 0, a.err);
      assert.equal(a.err, "");
      assert.equal(a.out, formatHelp(COMMANDS[name]?.help ?? HELP_HELP));
      assert.match(a.out, /\noptions:\n/);
    }
    const b = mailbag("help", "route");
    assert.equal(b.status, 0);
    assert.equal(b.out, mailbag("route", "-h").out);
    assert.equal(mailbag("help", "--help").out, formatHelp(HELP_HELP));
  });

  test("README documents every option and every variable of every command", () => {
    const missing: string[] = [];
    let seen = 0;
    for (const spec of specs) {
      for (const name of Object.keys(spec.options)) {
        seen++;
        if (!README.includes(`--${name}`)) missing.push(`${spec.name} --${name}`);
      }
      for (const name of Object.keys(spec.env ?? {})) {
        seen++;
        if (!README.includes(name)) missing.push(`${spec.name} ${name}`);
      }
    }
    assert.ok(seen > 20, `options and variables found: ${seen}`);
    assert.deepEqual(missing, []);
  });

  test("an unknown option is exit 2 and points at --help; so is an unknown command", () => {
    const r = mailbag("route", "--bogus", "x@y.test");
    assert.equal(r.status, 2);
    assert.match(r.err, /Unknown option '--bogus'/);
    assert.match(r.err, /mailbag route --help/);
    assert.equal(mailbag("help", "nope").status, 2);
  });
});
