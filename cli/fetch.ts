/**
 * `mailbag fetch --postoffice ID (--maildir DIR | --smtp URL | --lmtp URL) [--once]`: a pickup
 * postoffice collects its mail (docs/postoffices.md#pickup). Each waiting message is handed to a
 * Maildir or a local MTA, then removed from the inbound mailbag (core/pickup.ts). `--once`
 * drains what is waiting, prints messages and bytes moved, exits; otherwise fetch keeps going,
 * woken by the postoffice's notification queue where there is one (AWS: S3 event notifications)
 * and else listing the mailbag every --interval seconds (2).
 */
import { hostname } from "node:os";
import {
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { gatewayResources, pickupQueue } from "../core/names.ts";
import { type DrainProgress, drainInbound, type Handoff } from "../core/pickup.ts";
import { createAwsClients } from "../functions/shared/aws.ts";
import { enterPart } from "../functions/shared/aws-calls.ts";
import { maildir } from "../functions/shared/maildir.ts";
import { s3Store } from "../functions/shared/s3-store.ts";
import { smtpTransport } from "../functions/shared/smtp-transport.ts";
import { backendSettings, UsageError } from "./common.ts";
import { readConfig } from "./config-io.ts";
import { type CommandHelp, command, OPS_ENV, postofficeOptions } from "./help.ts";

export const FETCH_HELP = {
  name: "fetch",
  summary: "a pickup postoffice collects its mail from its inbound mailbag",
  usage: "--postoffice ID (--maildir DIR | --smtp URL | --lmtp URL) [--once]",
  description:
    "Each waiting message is handed to a Maildir or a local MTA, then removed from the inbound\n" +
    "mailbag (docs/postoffices.md#pickup). Without --once it keeps going, woken by the\n" +
    "postoffice's notification queue where there is one, else polling every --interval seconds.",
  options: {
    ...postofficeOptions("the postoffice collecting"),
    maildir: { type: "string", arg: "DIR", help: "deliver into this Maildir (tmp/ then new/)" },
    smtp: { type: "string", arg: "URL", help: "hand each message to this SMTP server" },
    lmtp: { type: "string", arg: "URL", help: "hand each message to this LMTP server" },
    once: { type: "boolean", help: "drain what is waiting, print what moved, exit" },
    queue: {
      type: "string",
      arg: "NAME",
      help: "the notification queue (default: from the config)",
    },
    interval: { type: "string", arg: "SECONDS", help: "polling interval without a queue (2)" },
  },
  env: OPS_ENV,
  example: "mailbag fetch --postoffice SALES --maildir ~/Maildir --once",
} as const satisfies CommandHelp;

export const fetch = command(FETCH_HELP, { max: 0 }, async ({ values }) => {
  const po = values.postoffice?.toUpperCase();
  if (!po) throw new UsageError("--postoffice ID is required");
  const targets = [values.maildir, values.smtp, values.lmtp].filter((t) => t !== undefined);
  if (targets.length !== 1) throw new UsageError("exactly one of --maildir, --smtp, --lmtp");
  const interval = Number(values.interval ?? 2);
  if (!(interval > 0))
    throw new UsageError(`--interval: not a number of seconds: ${values.interval}`);

  const clients = createAwsClients(backendSettings(values));
  let bucket = values.bucket;
  let queueName = values.queue;
  let gateway: string | undefined;
  if (!bucket) {
    const config = await readConfig(values.config);
    const postoffice = config.postoffices.find((p) => p.id === po);
    if (!postoffice) throw new UsageError(`--postoffice: no postoffice ${po} in the config`);
    if (postoffice.inbound)
      throw new UsageError(
        `postoffice ${po} is pushed to ${postoffice.inbound.deliver}, not picked up`,
      );
    const { receiverOf } = (await import("../core/address-map.ts")).buildAddressMap(config);
    const gw = receiverOf.get(po);
    if (!gw) throw new UsageError(`no gateway receives for postoffice ${po}`);
    bucket = gatewayResources(config.prefix, gw.id).bucket;
    queueName ??= pickupQueue(config.prefix, po);
    gateway = gw.id;
  }
  // On AWS this runs as the postoffice's own principal (its policy per gateway).
  enterPart("fetch", gateway, po);
  const handoff = await handoffOf(values);
  const store = s3Store(clients.s3, bucket);
  const where = values.maildir ? `${values.maildir}/new` : (values.smtp ?? values.lmtp);
  const report = (p: DrainProgress) =>
    `${p.messages} message(s), ${p.bytes} bytes from inbound/${po}/ to ${where}` +
    (p.already
      ? ` (${p.already} already there from an earlier run, removed from the mailbag)`
      : "");

  let stopping = false;
  const stop = new AbortController();
  const onSignal = () => {
    stopping = true;
    stop.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const wake = values.once ? undefined : await waker(clients.sqs, queueName, interval, stop.signal);
  const total = { messages: 0, bytes: 0 };
  if (values.once) {
    process.stdout.write(
      `fetched ${report(await drainInbound(store, po, handoff, progress(po)))}\n`,
    );
    return 0;
  }
  while (!stopping) {
    try {
      const p = await drainInbound(store, po, handoff, progress(po), () => stopping);
      total.messages += p.messages;
      total.bytes += p.bytes;
      if (p.messages + p.already > 0) process.stdout.write(`fetched ${report(p)}\n`);
    } catch (err) {
      // The backend or the hand-off target is down: what is not handed over stays; try again.
      process.stderr.write(`fetch ${po}: ${(err as Error).message}; trying again\n`);
    }
    if (!stopping) await wake?.();
  }
  process.stdout.write(
    `fetch stopped: ${total.messages} message(s), ${total.bytes} bytes in all\n`,
  );
  return 0;
});

async function handoffOf(values: {
  maildir?: string | undefined;
  smtp?: string | undefined;
  lmtp?: string | undefined;
}): Promise<Handoff> {
  if (values.maildir) return maildir(values.maildir);
  const url = values.smtp ?? values.lmtp ?? "";
  const scheme = values.smtp ? /^smtps?:\/\/[^/]+$/ : /^lmtp:\/\/[^/]+$/;
  if (!scheme.test(url))
    throw new UsageError(`not a ${values.smtp ? "smtp://" : "lmtp://"} URL: ${url}`);
  const transport = smtpTransport(url, hostname());
  return {
    async deliver({ envelope, size, body }) {
      const r = await transport.send(envelope.mailFrom, envelope.rcptTo, await body(), size);
      // Any refusal keeps the message in the mailbag: the local MTA must take it whole.
      if (r.refused.length > 0) {
        throw new Error(
          `${url} refused ${r.refused.map((x) => `<${x.address}>: ${x.reply}`).join("; ")}`,
        );
      }
      return "delivered";
    },
  };
}

/** A line on stderr every 5% of a backlog of 50 or more, so a long drain shows it is moving. */
function progress(po: string): (p: DrainProgress) => void {
  return (p) => {
    const done = p.messages + p.already;
    const step = Math.max(1, Math.floor(p.waiting / 20));
    if (p.waiting >= 50 && (done % step === 0 || done === p.waiting)) {
      process.stderr.write(`fetch ${po}: ${done}/${p.waiting} messages, ${p.bytes} bytes\n`);
    }
  };
}

/**
 * Waits for new mail: a long poll on the postoffice's notification queue (fed by S3 event
 * notifications for `inbound/<PO>/`) when it exists, so an idle fetch lists nothing; otherwise
 * (the embedded emulator, LocalStack without notifications) a pause of `interval` seconds.
 */
async function waker(
  sqs: SQSClient,
  queueName: string | undefined,
  interval: number,
  signal: AbortSignal,
): Promise<() => Promise<void>> {
  const sleep = () =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, interval * 1000);
      signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      });
    });
  const url =
    queueName?.startsWith("https://") || queueName?.startsWith("http://")
      ? queueName
      : queueName
        ? await sqs
            .send(new GetQueueUrlCommand({ QueueName: queueName }))
            .then((r) => r.QueueUrl)
            .catch(() => undefined)
        : undefined;
  process.stderr.write(
    url
      ? `fetch: woken by notification queue ${url}\n`
      : `fetch: no notification queue, listing the mailbag every ${interval} s\n`,
  );
  if (!url) return sleep;
  return async () => {
    try {
      const r = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 }),
        { abortSignal: signal },
      );
      const done = (r.Messages ?? []).filter((m) => m.ReceiptHandle);
      // The notifications only wake us: the mailbag listing is what is delivered.
      if (done.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? "" })),
          }),
        );
      }
    } catch {
      if (!signal.aborted) await sleep();
    }
  };
}
