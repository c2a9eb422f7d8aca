/**
 * `mailbag emulator`: the embedded S3+SQS emulator on its own, for running the ingress and the
 * functions as separate processes against it (as the memory benchmark does), or for poking at
 * the mailbags with the AWS CLI
 * (`AWS_SHARED_CREDENTIALS_FILE=.mailbag/credentials aws --endpoint-url http://127.0.0.1:4577 s3 ls`).
 */
import { parseArgs } from "node:util";
import { dataDirCredentials, startEmulator } from "../functions/local/emulator.ts";

export async function emulator(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: "string", short: "p" }, "data-dir": { type: "string" } },
  });
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
}
