/**
 * A Maildir as Dovecot, mutt and Postfix's local(8) use it (https://cr.yp.to/proto/maildir.html):
 * each message written to `tmp/`, flushed to disk, then renamed into `new/`, so a reader never
 * sees half a message. Names are unique and deterministic — `<seconds>.<message id>.mailbag` —
 * so a fetch re-run after a crash between the rename and the removal from the mailbag finds
 * the message in `new/` (or in `cur/`, where a reader moved it, `:2,<flags>` appended) and
 * writes nothing twice. The bytes are kept as accepted (CRLF): Dovecot and mutt read both.
 */
import { createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { idTime } from "../../core/ids.ts";
import type { Handoff } from "../../core/pickup.ts";

export function maildirName(id: string): string {
  return `${Math.floor(idTime(id) / 1000)}.${id}.mailbag`;
}

export async function maildir(dir: string): Promise<Handoff> {
  for (const sub of ["tmp", "new", "cur"])
    await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
  // Names already in cur/, without their info suffix (read once: a reader may move more later,
  // but only ever from new/, which is checked per message).
  const cur = new Set((await readdir(join(dir, "cur"))).map((n) => n.split(":")[0]));
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );
  return {
    async deliver({ id, body }) {
      const name = maildirName(id);
      if (cur.has(name) || (await exists(join(dir, "new", name)))) return "already";
      const tmp = join(dir, "tmp", name);
      await pipeline(await body(), createWriteStream(tmp, { mode: 0o600, flush: true }));
      await rename(tmp, join(dir, "new", name));
      // The rename is durable once the directory is flushed too.
      const d = await open(join(dir, "new"), "r");
      try {
        await d.sync();
      } finally {
        await d.close();
      }
      return "delivered";
    },
  };
}
