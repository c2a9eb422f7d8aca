/**
 * A router or delivery function: the handler in functions/<name>/index.ts bundled by esbuild
 * (locally, never in Docker) as one ESM file with source maps, Node.js 24 on ARM64, fed by its
 * FIFO queue with partial batch failures. Its role starts empty: logs to its own log group,
 * the directory object, the queue it consumes; the stack grants the rest one by one.
 */
import { join } from "node:path";
import type { Duration } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { REPO_ROOT } from "../config.ts";

export interface QueueFunctionProps {
  readonly functionName: string;
  /** Folder under functions/ holding index.ts with the exported `handler`. */
  readonly entry: "router" | "deliver";
  readonly memoryMB: number;
  readonly logRetentionDays: logs.RetentionDays;
  readonly queue: sqs.IQueue;
  /** Must not exceed the queue's visibility timeout (Lambda refuses the event source mapping). */
  readonly timeout: Duration;
  readonly directory: { readonly bucket: s3.IBucket; readonly key: string; readonly url: string };
}

export class QueueFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: QueueFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, "Logs", {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: props.logRetentionDays,
    });
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
      role,
      logGroup,
      environment: {
        MAILBAG_DIRECTORY: props.directory.url,
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
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["s3:GetObject"],
        resources: [props.directory.bucket.arnForObjects(props.directory.key)],
      }),
    );
    this.fn.addEventSource(
      new SqsEventSource(props.queue, { batchSize: 10, reportBatchItemFailures: true }),
    );
  }
}
