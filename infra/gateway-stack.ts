/**
 * One gateway, one stack: its mailbag bucket (its own gateway postoffice), its FIFO queues with
 * dead-letter queues, the router and (where it sends) the delivery function, the SMTP ingress
 * on Fargate behind an NLB, alarms, and optionally its MX records. Queue names come from
 * core/names.ts, exactly what the ingress and the functions compute at run time; the bucket's
 * name is CloudFormation's (it is retained: see MailbagBucket) and reaches them as MAILBAG_BUCKET.
 *
 * Where it delivers (delivery or push function), the retry queue of deferred recipients.
 *
 * Modes: `send` has no port 25 listener and, having no postoffice to receive for, no inbound
 * routing beyond its own postoffices' local mail; `receive` has no delivery queue, no delivery
 * function and no SES permission; `both` has everything.
 */
import { CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type { Construct } from "constructs";
import { gatewayCapabilities } from "../core/capabilities.ts";
import type { Gateway } from "../core/config.ts";
import { gatewayResources, type QueueRole } from "../core/names.ts";
import { type DeployConfig, ingressView } from "./config.ts";
import { GatewayDashboard } from "./constructs/dashboards.ts";
import { type FifoQueue, FifoQueues } from "./constructs/fifo-queues.ts";
import { GatewayAlarms } from "./constructs/gateway-alarms.ts";
import { IngressService } from "./constructs/ingress-service.ts";
import { MailbagBucket } from "./constructs/mailbag-bucket.ts";
import { MxRecords } from "./constructs/mx-records.ts";
import { PostofficeExchange } from "./constructs/postoffice-exchange.ts";
import { LINE_BATCH_SIZE, QueueFunction } from "./constructs/queue-function.ts";
import { RetryQueue } from "./constructs/retry-queue.ts";
import { DirectoryReader } from "./directory-stack.ts";
import { directoryKey, LATEST_DIRECTORY_KEY } from "./names.ts";

export interface GatewayStackProps extends StackProps {
  readonly deploy: DeployConfig;
  readonly gateway: Gateway;
  /** The directory stack's name: its bucket's generated name is imported from it. */
  readonly directoryStackName: string;
  /** The shared VPC (aws.sharedVpc), if any. */
  readonly vpc?: ec2.IVpc | undefined;
}

export class GatewayStack extends Stack {
  constructor(scope: Construct, id: string, props: GatewayStackProps) {
    super(scope, id, props);
    const { deploy, gateway: gw } = props;
    const { config, aws } = deploy;
    const caps = gatewayCapabilities(gw);
    const { receives } = caps;
    // The push queue and function (postoffices' own servers) are not deployed yet: local only.
    const roles = caps.queues.filter((r) => r !== "push");
    const names = gatewayResources(config.prefix, gw.id);
    const directory = {
      reader: new DirectoryReader(this, props.directoryStackName),
      key: directoryKey(deploy),
    };

    const mailbag = new MailbagBucket(this, "Mailbag", aws.mailbag);
    const timeout = Duration.seconds(aws.functions.timeoutSeconds);
    const { queues } = new FifoQueues(this, "Queues", names, roles, timeout);
    const alarms = new GatewayAlarms(this, "Alarms", aws.alarms);
    /** A function on one of the queues, reading the spool; grants beyond that follow per role. */
    const queueFunction = (role: QueueRole, fifo: FifoQueue, memoryMB: number) => {
      const fn = new QueueFunction(this, role === "route" ? "Router" : "Deliver", {
        functionName: `${config.prefix}-${gw.id}-${role}`,
        gateway: gw.id,
        bucketName: mailbag.bucket.bucketName,
        reservedConcurrency: aws.functions.reservedConcurrency,
        entry: role === "route" ? "router" : "deliver",
        memoryMB,
        logRetentionDays: aws.functions.logRetentionDays,
        timeout,
        directory,
        queue: fifo.queue,
        batchSize: LINE_BATCH_SIZE,
      }).fn;
      mailbag.grantObjects(fn, ["s3:GetObject"], "messages/*");
      mailbag.grantMissingKeyIs404(fn);
      alarms.watchQueue(role === "route" ? "Route" : "Deliver", fifo);
      alarms.watchFunction(role === "route" ? "Router" : "Deliver", fn);
      return fn;
    };

    const route = queues.route;
    if (!route) throw new Error("every gateway has a route queue");
    const router = queueFunction("route", route, aws.functions.routerMemoryMB);
    // Inbound routing only where the gateway receives: a send gateway's router fills no inbound bag.
    if (receives) mailbag.grantObjects(router, ["s3:PutObject"], "inbound/*");
    // Recipients refused at routing are recorded as failed in the message's status record, on
    // every gateway (core/route-message.ts recordRefused), and their senders get a report
    // (bounce) through the accept path; a poison route job the router moves to the dead-letter
    // queue itself (functions/shared/middleware.ts settleFailure).
    mailbag.grantAccept(router, route.queue);
    route.deadLetterQueue.grantSendMessages(router);

    const deliver = queues.deliver;
    let deliverFn: lambda.Function | undefined;
    if (deliver) {
      deliver.queue.grantSendMessages(router);
      const fn = queueFunction("deliver", deliver, aws.functions.deliverMemoryMB);
      // Status records, and reports (bounces, "relayed") through the accept path.
      mailbag.grantAccept(fn, route.queue);
      this.grantSes(fn, deploy, gw);
      deliverFn = fn;
    }

    // Push, pickup and the outbound mailbag intake (docs/postoffices.md).
    const exchange = new PostofficeExchange(this, "Postoffices", {
      config,
      gateway: gw,
      mailbag,
      router,
      routeQueue: route.queue,
      alarms,
      memoryMB: aws.functions.deliverMemoryMB,
      logRetentionDays: aws.functions.logRetentionDays,
      timeout,
      directory,
      reservedConcurrency: aws.functions.reservedConcurrency,
    });
    // The retry line (core/retry.ts) of whichever delivery functions this gateway has: each
    // schedules deferred recipients into it; the delivery function (else the push function)
    // consumes it and puts due jobs back into their FIFO line.
    const push = exchange.pushLine;
    const consumer = deliverFn ?? push?.fn;
    if (consumer) {
      const retry = new RetryQueue(this, "Retry", {
        queueName: names.retryQueue,
        functionTimeout: timeout,
        settings: config.queues,
        alarms,
      });
      const lines = [deliver, push?.fifo].filter((q) => q !== undefined);
      retry.consumeWith(consumer, lines, aws.functions.reservedConcurrency);
      if (push && push.fn !== consumer) retry.grantSchedule(push.fn);
      new CfnOutput(this, "retryQueue", { value: retry.queue.queueUrl });
      new CfnOutput(this, "retryDeadLetterQueue", { value: retry.deadLetterQueue.queueUrl });
    }
    for (const [po, policy] of exchange.postofficePolicies) {
      new CfnOutput(this, `PostofficePolicy${po}`, {
        value: policy.managedPolicyArn,
        description: `Attach to the role or user running postoffice ${po}'s mailbag fetch/submit`,
      });
    }

    const ingress = new IngressService(this, "Ingress", {
      config,
      gateway: gw,
      settings: aws.ingress,
      logRetentionDays: aws.functions.logRetentionDays,
      directoryUrl: `s3://${directory.reader.bucket.bucketName}/${LATEST_DIRECTORY_KEY}`,
      directoryView: ingressView(deploy, gw),
      bucketName: mailbag.bucket.bucketName,
      vpc: props.vpc,
    });
    const task = ingress.service.taskDefinition.taskRole;
    // The ingress loads the directory at start (cli/start.ts).
    directory.reader.grantRead(task);
    mailbag.grantAccept(task, route.queue);
    ingress.targetGroups.forEach((tg, i) => {
      alarms.watchTargets(`Ingress${ingress.ports[i]}`, tg);
    });
    alarms.watchService("Ingress", ingress.service);
    new GatewayDashboard(this, "Dashboard", config, gw);

    if (aws.dns) new MxRecords(this, "Dns", aws.dns, config, gw, ingress.loadBalancer);

    new CfnOutput(this, "LoadBalancerDnsName", {
      value: ingress.loadBalancer.loadBalancerDnsName,
      description: `SMTP ${ingress.ports.join(" and ")} of gateway ${gw.id}`,
    });
    new CfnOutput(this, "Bucket", { value: mailbag.bucket.bucketName });
    new CfnOutput(this, "AlarmTopic", { value: alarms.topic.topicArn });
    for (const role of roles) {
      new CfnOutput(this, `${role}Queue`, { value: queues[role]?.queue.queueUrl ?? "" });
      new CfnOutput(this, `${role}DeadLetterQueue`, {
        value: queues[role]?.deadLetterQueue.queueUrl ?? "",
      });
    }
  }

  /**
   * ses:SendRawEmail only where SES is the smart host, and only as the identities of the
   * postoffice domains this gateway sends for (plus its host name, for DSNs), and the
   * configuration set if one is named. The v2 API (the default, smartHost.ses.api) sends
   * through its SendEmail operation, ses:SendEmail in the authorization reference
   * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsimpleemailservicev2.html),
   * while SES checks ses:SendRawEmail for its raw content (AccessDenied names that action): both.
   */
  private grantSes(fn: iam.IGrantable, deploy: DeployConfig, gw: Gateway): void {
    const sh = deploy.config.smartHost;
    if (!("ses" in sh)) return;
    const region = sh.ses.region ?? this.region;
    const arn = (resource: string) =>
      this.formatArn({ service: "ses", region, resource, resourceName: undefined });
    const domains = deploy.config.postoffices
      .filter((po) => gw.postoffices.includes(po.id))
      .map((po) => po.domain);
    if (gw.hostname) domains.push(gw.hostname);
    const resources = domains.map((d) => arn(`identity/${d}`));
    if (sh.ses.configurationSet)
      resources.push(arn(`configuration-set/${sh.ses.configurationSet}`));
    fn.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: sh.ses.api === "v1" ? ["ses:SendRawEmail"] : ["ses:SendEmail", "ses:SendRawEmail"],
        resources,
      }),
    );
  }
}
