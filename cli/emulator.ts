/**
 * `mailbag emulator`: the embedded S3+SQS emulator on its own, for running the ingress and the
 * functions as separate processes against it (as the memory benchmark does), or for poking at
 * the mailbags with the AWS CLI
 * (`AWS_SHARED_CREDENTIALS_FILE=.mailbag/credentials aws --endpoint-url http://127.0.0.1:4577 s3 ls`).
 */
import { dataDirCredentials, startEmulator } from "../functions/local/emulator.ts";
import { type CommandHelp, command } from "./help.ts";

export const EMULATOR_HELP = {
  name: "emulator",
  summary: "run the embedded S3+SQS emulator (fauxqs) on its own",
  usage: "[--port N] [--data-dir DIR]",
  options: {
    port: { type: "string", short: "p", arg: "N", help: "port to listen on (default 4577)" },
    "data-dir": {
      type: "string",
      arg: "DIR",
      help: "where its state is kept (default: $MAILBAG_DATA_DIR, else .mailbag)",
    },
  },
  env: { MAILBAG_DATA_DIR: "state directory when --data-dir is not given" },
  example: "mailbag emulator --port 4577 --data-dir .mailbag",
} as const satisfies CommandHelp;

export const emulator = command(EMULATOR_HELP, { min: 0 }, async ({ values }) => {
  const dataDir = values["data-dir"] ?? process.env.MAILBAG_DATA_DIR ?? ".mailbag";
  const { credentials, file } = await dataDirCredentials(dataDir);
  const emu = await startEmulator({ port: Number(values.port ?? 4577), dataDir, credentials });
  const signed = file ? `credentials in ${file}` : "credentials from the environment";
  process.stdout.write(
    `mailbag: emulator listening at ${emu.endpoint} (loopback only, signed requests only: ${signed}), state in ${dataDir}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await emu.stop();
  return 0;
});
