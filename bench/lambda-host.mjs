// A stand-in for the Lambda execution environment: loads one function bundle built by esbuild
// exactly as CDK's NodejsFunction builds it (plain JS, no type stripping), and invokes its
// handler for every SQSEvent the parent sends over IPC — the parent plays the SQS event source
// mapping, as Lambda's poller lives outside the function. RSS of this process is what Lambda
// reports as "Max Memory Used".
import { pathToFileURL } from "node:url";

const { handler } = await import(pathToFileURL(process.argv[2]).href);
process.on("message", async ({ id, event }) => {
  const context = {
    functionName: process.argv[3],
    awsRequestId: String(id),
    getRemainingTimeInMillis: () => 900000,
  };
  try {
    process.send({ id, result: await handler(event, context) });
  } catch (err) {
    process.send({ id, error: String(err) });
  }
});
process.send({ ready: true });
