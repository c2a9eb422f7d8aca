/**
 * A router, delivery (or push) or intake function: the handler in functions/<name>/index.ts bundled by esbuild
 * (locally, never in Docker) as one ESM file with source maps, Node.js 24 on ARM64, fed by its
 * FIFO queue one record at a time. Its role starts empty: logs to its own log group, the
 * directory objects, the queue it consumes; the stack grants the rest one by one.
 *
 * A FIFO line's function takes batches of ten (LINE_BATCH_SIZE): one invocation per ten
 * messages of the line instead of one per message, and within a batch the reads, copies and
 * status writes overlap (core/deliver-line.ts, core/route-message.ts routeBatch). A record that
 * fails holds its group's later records of the batch (reported failed too, so the order holds),
 * and Lambda counts a receive for each of them although they did not fail. That is why a job is
 * dead-lettered after `queues.maxReceiveCount` failures of its own, counted in the mailbag
 * (core/dead-letter.ts countFailure), and SQS's redrive on receives is only the backstop
 * (LINE_REDRIVE_RECEIVES)
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
 *
 * The log group has no fixed name: it is retained on deletion, and a retained, named log group
 * makes the next create after a rollback fail ("The specified log group already exists").
 */
import { join } from "node:path";
import type { Duration } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { REPO_ROOT } from "../config.ts";
import type { DirectoryReader } from "../directory-stack.ts";

/** Records per invocation of a FIFO line's function (router, delivery, push): SQS FIFO's most. */
export const LINE_BATCH_SIZE = 10;

export interface QueueFunctionProps {
  readonly functionName: string;
  /** MAILBAG_GATEWAY: the gateway whose bucket MAILBAG_BUCKET names. */
  readonly gateway: string;
  readonly bucketName: string;
  /** Reserved (and event source maximum) concurrency; null: none reserved. */
  readonly reservedConcurrency: number | null;
  /** Folder under functions/ holding index.ts with the exported `handler`. */
  readonly entry: "router" | "deliver" | "intake";
  readonly memoryMB: number;
  readonly logRetentionDays: logs.RetentionDays;
  readonly queue: sqs.IQueue;
  /** Records per invocation: LINE_BATCH_SIZE for a FIFO line, 1 for the intake. */
  readonly batchSize: number;
  /** Must not exceed the queue's visibility timeout (Lambda refuses the event source mapping). */
  readonly timeout: Duration;
  readonly directory: { readonly reader: DirectoryReader; readonly key: string };
}

export class QueueFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: QueueFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, "Logs", { retention: props.logRetentionDays });
    const role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `${props.functionName}: its queue, its bucket prefixes, the directory`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [logGroup.logGroupArn],
      }),
    );
    this.fn = new nodejs.NodejsFunction(this, "Function", {
      functionName: props.functionName,
      entry: join(REPO_ROOT, "functions", props.entry, "index.ts"),
      handler: "handler",
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, "package-lock.json"),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memoryMB,
      timeout: props.timeout,
      ...(props.reservedConcurrency === null
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrency }),
      role,
      logGroup,
      environment: {
        MAILBAG_DIRECTORY: `s3://${props.directory.reader.bucket.bucketName}/${props.directory.key}`,
        MAILBAG_GATEWAY: props.gateway,
        MAILBAG_BUCKET: props.bucketName,
        NODE_OPTIONS: "--enable-source-maps",
      },
      bundling: {
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        target: "node24",
        mainFields: ["module", "main"],
        // middy v7 is ESM; some dependencies still call require().
        banner:
          "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        sourceMap: true,
        minify: true,
        // The pinned SDK v3 goes into the bundle, not the runtime's copy: the same code as tested.
        externalModules: [],
      },
    });
    props.directory.reader.grantRead(role);
    this.fn.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize: props.batchSize,
        reportBatchItemFailures: true,
        // Never more pollers than reserved executions: a throttled batch counts as a receive.
        ...(props.reservedConcurrency === null
          ? {}
          : { maxConcurrency: props.reservedConcurrency }),
      }),
    );
  }
}
