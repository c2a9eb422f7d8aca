/**
 * The postoffice exchange of one gateway (docs/postoffices.md), beside the spine:
 *
 * - push: where the gateway receives for a postoffice with `inbound.deliver`, a push FIFO queue
 *   (one message group per postoffice) and a push function — the delivery function's code —
 *   that reads and removes only those postoffices' inbound mailbags;
 * - pickup: per postoffice it receives for without `inbound`, a notification queue fed by S3
 *   event notifications for `inbound/<ID>/` (wakes `mailbag fetch`);
 * - per postoffice it serves, an IAM managed policy for the postoffice's own agent: where the
 *   gateway receives for it by pickup, read and delete `inbound/<ID>/*` (and its notification
 *   queue); where the gateway sends for it, write `outbound/<ID>/*`; nothing else (in a
 *   dedicated layout the postoffice gets one policy from each of its two gateways);
 * - intake: where the gateway sends, S3 event notifications for `outbound/` → an intake queue
 *   → the intake function, which takes objects in through the accept path.
 *
 * The notifications are set on the bucket's own CloudFormation resource (not through CDK's
 * notification custom resource, whose handler needs s3:PutBucketNotification on `*`); the
 * bucket then depends on the queue policies that let S3 send. Those cannot name the bucket's
 * ARN (its name is CloudFormation's, and the reference would be a cycle), so they admit S3 for
 * this account only (aws:SourceAccount, the confused-deputy guard of
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html).
 */
import { type Duration, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { buildAddressMap } from "../../core/address-map.ts";
import type { Config, Gateway } from "../../core/config.ts";
import { gatewayResources, intakeQueue, pickupQueue } from "../../core/names.ts";
import { suppress } from "../nag.ts";
import { type FifoQueue, FifoQueues, visibilityFor } from "./fifo-queues.ts";
import type { GatewayAlarms } from "./gateway-alarms.ts";
import type { MailbagBucket } from "./mailbag-bucket.ts";
import { LINE_BATCH_SIZE, QueueFunction, type QueueFunctionProps } from "./queue-function.ts";

export interface PostofficeExchangeProps {
  readonly config: Config;
  readonly gateway: Gateway;
  readonly mailbag: MailbagBucket;
  readonly router: lambda.IFunction;
  readonly routeQueue: sqs.IQueue;
  readonly alarms: GatewayAlarms;
  readonly memoryMB: number;
  readonly logRetentionDays: logs.RetentionDays;
  readonly timeout: Duration;
  readonly directory: QueueFunctionProps["directory"];
  readonly reservedConcurrency: number | null;
}

export class PostofficeExchange extends Construct {
  /** Postoffice id → the policy for its own agent (fetch, submit) on this gateway's bucket. */
  readonly postofficePolicies = new Map<string, iam.ManagedPolicy>();
  /** The push function and its queues, where a postoffice this gateway receives for has `inbound`. */
  pushLine: { readonly fn: lambda.Function; readonly fifo: FifoQueue } | undefined;
  private readonly notifications: s3.CfnBucket.QueueConfigurationProperty[] = [];
  private readonly props: PostofficeExchangeProps;

  constructor(scope: Construct, id: string, props: PostofficeExchangeProps) {
    super(scope, id);
    this.props = props;
    const { config, gateway: gw } = props;
    const map = buildAddressMap(config);
    const served = (m: ReadonlyMap<string, Gateway>) =>
      new Set(config.postoffices.filter((po) => m.get(po.id)?.id === gw.id).map((po) => po.id));
    const received = served(map.receiverOf);
    const sent = served(map.senderOf);
    const pushed = config.postoffices.filter((po) => po.inbound && received.has(po.id));
    if (pushed.length > 0) this.push(pushed.map((po) => po.id));
    for (const po of config.postoffices) {
      const pickup = received.has(po.id) && !po.inbound;
      if (pickup || sent.has(po.id)) this.postofficePolicy(po.id, pickup, sent.has(po.id));
    }
    if (gw.mode !== "receive") this.intake();
    if (this.notifications.length > 0) {
      const bucket = props.mailbag.bucket.node.defaultChild as s3.CfnBucket;
      bucket.notificationConfiguration = { queueConfigurations: this.notifications };
    }
  }

  private fn(
    name: string,
    entry: QueueFunctionProps["entry"],
    queue: sqs.IQueue,
    batchSize: number,
  ) {
    const { config, gateway: gw } = this.props;
    const fn = new QueueFunction(this, name, {
      functionName: `${config.prefix}-${gw.id}-${name.toLowerCase()}`,
      gateway: gw.id,
      bucketName: this.props.mailbag.bucket.bucketName,
      reservedConcurrency: this.props.reservedConcurrency,
      entry,
      memoryMB: this.props.memoryMB,
      logRetentionDays: this.props.logRetentionDays,
      timeout: this.props.timeout,
      directory: this.props.directory,
      queue,
      batchSize,
    }).fn;
    this.props.alarms.watchFunction(name, fn);
    return fn;
  }

  private push(postoffices: readonly string[]): void {
    const { config, gateway: gw, mailbag } = this.props;
    const fifo = new FifoQueues(
      this,
      "PushQueues",
      gatewayResources(config.prefix, gw.id),
      ["push"],
      this.props.timeout,
    ).queues.push;
    if (!fifo) throw new Error("push queue");
    fifo.queue.grantSendMessages(this.props.router);
    this.props.alarms.watchQueue("Push", fifo);
    const fn = this.fn("Push", "deliver", fifo.queue, LINE_BATCH_SIZE);
    const inbound = postoffices.map((po) => `inbound/${po}/*` as const);
    mailbag.grantObjects(fn, ["s3:GetObject", "s3:DeleteObject"], ...inbound);
    // Its status records (messages/<id>.<PO>.status.json, written through grantAccept), and the
    // original in the spool, which a report (bounce) quotes (core/report.ts).
    mailbag.grantObjects(fn, ["s3:GetObject"], "messages/*");
    mailbag.grantMissingKeyIs404(fn);
    // Reports (bounces) through the accept path; a failing job it dead-letters itself
    // (functions/shared/middleware.ts settleFailure). The retry line: infra/gateway-stack.ts.
    mailbag.grantAccept(fn, this.props.routeQueue);
    fifo.deadLetterQueue.grantSendMessages(fn);
    this.pushLine = { fn, fifo };
  }

  /** A standard queue S3 may send ObjectCreated events to (SQS FIFO cannot be an S3 destination). */
  private notificationQueue(id: string, queueName: string, prefix: string): sqs.Queue {
    const queue = new sqs.Queue(this, id, {
      queueName,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    queue.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal("s3.amazonaws.com")],
        actions: ["sqs:SendMessage"],
        resources: [queue.queueArn],
        conditions: { StringEquals: { "aws:SourceAccount": Stack.of(this).account } },
      }),
    );
    const policy = queue.node.tryFindChild("Policy");
    if (policy) this.props.mailbag.bucket.node.addDependency(policy);
    this.notifications.push({
      event: "s3:ObjectCreated:*",
      queue: queue.queueArn,
      filter: {
        s3Key: {
          rules: [
            { name: "prefix", value: prefix },
            { name: "suffix", value: ".eml" },
          ],
        },
      },
    });
    return queue;
  }

  private postofficePolicy(po: string, pickup: boolean, submit: boolean): void {
    const { config, gateway: gw, mailbag } = this.props;
    const statements: iam.PolicyStatement[] = [];
    const wildcards: string[] = [];
    const bucketId = Stack.of(this).getLogicalId(mailbag.bucket.node.defaultChild as s3.CfnBucket);
    if (pickup) {
      const queue = this.notificationQueue(
        `Pickup${po}`,
        pickupQueue(config.prefix, po),
        `inbound/${po}/`,
      );
      suppress(queue, {
        "AwsSolutions-SQS3":
          "A wake-up call for `mailbag fetch` only: the mailbag listing is what gets delivered, so a lost notification loses no mail and a dead-letter queue would hold nothing of value.",
      });
      statements.push(
        new iam.PolicyStatement({
          sid: "ReadAndRemoveItsInboundMailbag",
          actions: ["s3:GetObject", "s3:DeleteObject"],
          resources: [mailbag.bucket.arnForObjects(`inbound/${po}/*`)],
        }),
        new iam.PolicyStatement({
          sid: "ListItsInboundMailbag",
          actions: ["s3:ListBucket"],
          resources: [mailbag.bucket.bucketArn],
          conditions: { StringLike: { "s3:prefix": [`inbound/${po}/*`] } },
        }),
        new iam.PolicyStatement({
          sid: "WakeOnNewMail",
          actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueUrl"],
          resources: [queue.queueArn],
        }),
      );
      wildcards.push(`inbound/${po}/*`);
    }
    if (submit) {
      statements.push(
        new iam.PolicyStatement({
          sid: "WriteItsOutboundMailbag",
          actions: ["s3:PutObject", "s3:AbortMultipartUpload"],
          resources: [mailbag.bucket.arnForObjects(`outbound/${po}/*`)],
        }),
      );
      wildcards.push(`outbound/${po}/*`);
    }
    const policy = new iam.ManagedPolicy(this, `PostofficePolicy${po}`, {
      managedPolicyName: `${config.prefix}-po-${po.toLowerCase()}-${gw.id.toLowerCase()}`,
      description: `Postoffice ${po} on gateway ${gw.id}: its own mailbags only (${[pickup ? "mailbag fetch" : "", submit ? "mailbag submit" : ""].filter(Boolean).join(", ")})`,
      statements,
    });
    const why =
      "A key prefix of this one postoffice's mailbag: message ids are minted per message, so objects cannot be named in advance.";
    suppress(
      policy,
      Object.fromEntries(
        wildcards.map((w) => [`AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${w}]`, why]),
      ),
    );
    this.postofficePolicies.set(po, policy);
  }

  private intake(): void {
    const { config, gateway: gw, mailbag, routeQueue } = this.props;
    const name = intakeQueue(config.prefix, gw.id);
    const deadLetterQueue = new sqs.Queue(this, "IntakeDeadLetters", {
      queueName: `${name}-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    suppress(deadLetterQueue, {
      "AwsSolutions-SQS3": "This is the intake queue's dead-letter queue.",
    });
    const queue = this.notificationQueue("IntakeQueue", name, "outbound/");
    const cfn = queue.node.defaultChild as sqs.CfnQueue;
    // As for the FIFO queues: six times the function timeout (Lambda's guidance for SQS sources).
    cfn.visibilityTimeout = visibilityFor(this.props.timeout);
    cfn.redrivePolicy = {
      deadLetterTargetArn: deadLetterQueue.queueArn,
      maxReceiveCount: config.queues.maxReceiveCount,
    };
    this.props.alarms.watchQueue("Intake", { queue, deadLetterQueue });
    const fn = this.fn("Intake", "intake", queue, 1);
    mailbag.grantObjects(fn, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "outbound/*");
    mailbag.grantAccept(fn, routeQueue);
    mailbag.grantMissingKeyIs404(fn);
  }
}
