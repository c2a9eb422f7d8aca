/**
 * `mailbag submit --postoffice ID [--from ADDR --to ADDR...] FILE.eml...`: drops messages into
 * the postoffice's outbound mailbag, as an application would with S3 PutObject
 * (docs/postoffices.md#outbound-mailbag). Without --from/--to the gateway takes the envelope
 * from the headers; with them an envelope object is written first (the message object is what
 * wakes the intake, so its envelope must already be there).
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { buildAddressMap } from "../core/address-map.ts";
import { newMessageId } from "../core/ids.ts";
import { gatewayResources, keys } from "../core/names.ts";
import { createAwsClients } from "../functions/shared/aws.ts";
import { enterPart } from "../functions/shared/aws-calls.ts";
import { s3Store } from "../functions/shared/s3-store.ts";
import { backendSettings, UsageError } from "./common.ts";
import { readConfig } from "./config-io.ts";
import { type CommandHelp, command, OPS_ENV, postofficeOptions } from "./help.ts";

export const SUBMIT_HELP = {
  name: "submit",
  summary: "drop messages into a postoffice's outbound mailbag, as an application would",
  usage: "--postoffice ID [--from ADDR --to ADDR...] FILE.eml...",
  description:
    "Without --from/--to the gateway takes the envelope from the headers\n" +
    "(docs/postoffices.md#outbound-mailbag).",
  options: {
    ...postofficeOptions("the submitting postoffice"),
    to: { type: "string", multiple: true, arg: "ADDR", help: "envelope recipient (with --from)" },
    from: { type: "string", arg: "ADDR", help: "envelope sender (with --to)" },
  },
  env: OPS_ENV,
  example: "mailbag submit --postoffice HQ message.eml",
} as const satisfies CommandHelp;

export const submit = command(SUBMIT_HELP, { min: 1 }, async ({ values, positionals }) => {
  const po = values.postoffice?.toUpperCase();
  if (!po) throw new UsageError("--postoffice ID is required");
  if ((values.from === undefined) !== (values.to === undefined))
    throw new UsageError("--from and --to go together (or neither: the headers are used)");
  let bucket = values.bucket;
  let gateway: string | undefined;
  if (!bucket) {
    const config = await readConfig(values.config);
    const gw = buildAddressMap(config).senderOf.get(po);
    if (!gw) throw new UsageError(`no gateway sends for postoffice ${po}`);
    bucket = gatewayResources(config.prefix, gw.id).bucket;
    gateway = gw.id;
  }
  // On AWS this runs as the postoffice's own principal (its policy per gateway).
  enterPart("submit", gateway, po);
  const store = s3Store(createAwsClients(backendSettings(values)).s3, bucket);
  for (const file of positionals) {
    const size = (await stat(file)).size;
    // A ULID: the intake takes a postoffice's objects in key order, i.e. the order submitted.
    const name = `${keys.outbound(po)}${newMessageId()}`;
    if (values.from !== undefined)
      await store.putJson(`${name}.envelope.json`, { mailFrom: values.from, rcptTo: values.to });
    await store.putStream(`${name}.eml`, createReadStream(file));
    process.stdout.write(`${file}: s3://${bucket}/${name}.eml (${size} bytes)\n`);
  }
  return 0;
});
