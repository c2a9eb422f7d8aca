/**
 * Pickup (docs/postoffices.md#pickup): `mailbag fetch` run as a real child process drains HQ's
 * inbound mailbag into a Maildir; killed mid-way (SIGKILL) and run again it loses nothing and
 * writes nothing twice. On both emulators.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { gatewayResources, keys } from "../../core/names.ts";
import { maildirName } from "../../functions/shared/maildir.ts";
import { s3Store } from "../../functions/shared/s3-store.ts";
import { send, sendMany } from "../helpers/client.ts";
import { marked, subjectOf, withoutTrace } from "../helpers/postoffice.ts";
import { waitUntil } from "../helpers/sink.ts";
import { gatewaySuite, mailbagProcess } from "../helpers/suite.ts";

const dir = mkdtempSync(join(tmpdir(), "mailbag-pickup-"));

const suite = gatewaySuite({ configFile: (config) => ({ ...config, aws: undefined }) });

function fetchProcess(args: string[]): ChildProcess & { out: () => string } {
  const p = mailbagProcess(suite.backend.endpoint, [
    "fetch",
    "--postoffice",
    "HQ",
    "-c",
    suite.configFile,
    ...args,
  ]);
  return Object.assign(p.child, { out: p.both });
}

async function fetchOnce(maildir: string): Promise<{ code: number | null; out: string }> {
  const child = fetchProcess(["--maildir", maildir, "--once"]);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  return { code, out: child.out() };
}

const store = () =>
  s3Store(suite.gw.clients.s3, gatewayResources(suite.config.prefix, "GW1").bucket);
const waiting = async () =>
  (await store().list("inbound/HQ/")).filter((o) => o.key.endsWith(".eml"));
const inNew = (maildir: string) => readdirSync(join(maildir, "new")).sort();

/** Sends `markers` to HQ and waits until all of them are complete in its inbound mailbag. */
async function mailForHq(markers: string[]): Promise<string[]> {
  const replies = await sendMany(
    suite.gw.port(),
    markers.map((m) => ({
      from: "jm@partner.test",
      to: "ceo@hq.company.test",
      raw: marked(m, "jm@partner.test", "ceo@hq.company.test"),
    })),
  );
  const ids = replies.map((r) => r.id ?? "");
  await waitUntil(
    async () => {
      for (const id of ids)
        if ((await suite.gw.object(keys.inboundEnvelope("HQ", id))) === undefined) return false;
      return true;
    },
    60_000,
    () => "HQ's mail in its inbound mailbag",
  );
  return ids;
}

describe("mailbag fetch into a Maildir", () => {
  test("--once writes each waiting message to new/ and exits 0; a second run writes nothing new", async () => {
    const maildir = join(dir, "once");
    const ids = await mailForHq(["once-1", "once-2", "once-3"]);
    const r = await fetchOnce(maildir);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /fetched 3 message\(s\), \d+ bytes from inbound\/HQ\/ to .*once\/new/);
    assert.deepEqual(inNew(maildir), ids.map(maildirName).sort());
    assert.deepEqual(readdirSync(join(maildir, "tmp")), []);
    const first = readFileSync(join(maildir, "new", maildirName(ids[0] ?? "")));
    assert.ok(
      withoutTrace(first).equals(marked("once-1", "jm@partner.test", "ceo@hq.company.test")),
    );
    assert.deepEqual(await waiting(), []);
    const again = await fetchOnce(maildir);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /fetched 0 message\(s\), 0 bytes/);
    assert.equal(inNew(maildir).length, 3);
  });

  test("a fetch SIGKILLed mid-way, run again: every message exactly once, the mailbag empty", async () => {
    const maildir = join(dir, "killed");
    const markers = Array.from({ length: 60 }, (_, i) => `killed-${String(i).padStart(2, "0")}`);
    const ids = await mailForHq(markers);
    const child = fetchProcess(["--maildir", maildir, "--once"]);
    await waitUntil(
      () => {
        try {
          return inNew(maildir).length >= 3;
        } catch {
          return false;
        }
      },
      60_000,
      () => `first messages in new/: ${child.out()}`,
    );
    child.kill("SIGKILL");
    await new Promise((resolve) => child.on("exit", resolve));
    const atKill = inNew(maildir).length;
    assert.ok(atKill < markers.length, `killed mid-way (${atKill} of ${markers.length} written)`);
    assert.ok((await waiting()).length > 0, "some mail still waiting");

    const r = await fetchOnce(maildir);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(inNew(maildir), ids.map(maildirName).sort(), "each message once, none lost");
    const subjects = inNew(maildir).map((n) => subjectOf(readFileSync(join(maildir, "new", n))));
    assert.deepEqual(subjects, markers, "complete files, in acceptance order by name");
    assert.deepEqual(await waiting(), []);
  });

  test("killed between hand-off and removal: the re-run finds the Maildir files and delivers nothing twice", async () => {
    const maildir = join(dir, "window");
    const [inNewDir = "", inCur = ""] = await mailForHq(["window-1", "window-2"]);
    // What runs killed just after the rename into new/ leave behind; a reader moved one to cur/.
    for (const sub of ["new", "cur", "tmp"]) mkdirSync(join(maildir, sub), { recursive: true });
    writeFileSync(join(maildir, "new", maildirName(inNewDir)), "handed over before the kill");
    writeFileSync(join(maildir, "cur", `${maildirName(inCur)}:2,S`), "already read");
    const r = await fetchOnce(maildir);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /fetched 0 message\(s\), 0 bytes .*\(2 already there/);
    assert.deepEqual(inNew(maildir), [maildirName(inNewDir)]);
    assert.equal(
      readFileSync(join(maildir, "new", maildirName(inNewDir)), "utf8"),
      "handed over before the kill",
    );
    assert.deepEqual(await waiting(), []);
  });
});

describe("mailbag fetch without --once", () => {
  test("keeps running and picks new mail up within seconds; SIGTERM stops it", async () => {
    const maildir = join(dir, "follow");
    const child = fetchProcess(["--maildir", maildir, "--interval", "1"]);
    try {
      await waitUntil(
        () => /listing the mailbag|notification queue/.test(child.out()),
        30_000,
        () => child.out(),
      );
      const r = await send({
        port: suite.gw.port(),
        from: "jm@partner.test",
        to: "ceo@hq.company.test",
        raw: marked("follow-1"),
      });
      await waitUntil(
        () => {
          try {
            return inNew(maildir).includes(maildirName(r.id ?? ""));
          } catch {
            return false;
          }
        },
        30_000,
        () => `picked up: ${child.out()}`,
      );
    } finally {
      child.kill("SIGTERM");
    }
    const code = await new Promise((resolve) => child.on("exit", resolve));
    assert.equal(code, 0, child.out());
    assert.match(child.out(), /fetch stopped: 1 message\(s\)/);
  });
});
