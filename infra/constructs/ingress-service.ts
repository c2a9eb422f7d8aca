/**
 * The SMTP ingress: the repo's Dockerfile on ECS Fargate (ARM64) behind an internet-facing
 * Network Load Balancer. TCP 25 where the gateway receives (MX traffic), TCP 587 where it sends
 * (postoffices submitting, authenticated or from their networks) or where other gateways carry
 * backbone mail to it (their delivery functions; Lambda cannot reach port 25); both forward to the
 * container's single SMTP listener on the unprivileged port 2525, which applies the same policy on
 * either. The image runs as `node`, and binding 25 would need the `ip_unprivileged_port_start`
 * system control, which Fargate does not list among the ones it accepts
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_systemcontrols).
 * Client IPs are preserved (the ingress checks submit networks and writes them into Received:).
 * Tasks sit in public subnets without NAT; their security group admits only the load balancer's.
 * The load balancer has an Elastic IP per Availability Zone (`aws.ingress.elasticIps`), so MX
 * targets and hosts tables keep their addresses across redeploys.
 *
 * The task definition holds nothing that changes when another gateway is added: the image is
 * built from a narrow context (.dockerignore lists what goes in, and no config file does), the
 * directory is read from its stable `latest` key, and MAILBAG_DIRECTORY_VIEW is the hash of
 * only this gateway's part of the config (infra/config.ts ingressView).
 */
import { Duration, IgnoreMode } from "aws-cdk-lib";
import * as appscaling from "aws-cdk-lib/aws-applicationautoscaling";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { gatewayCapabilities } from "../../core/capabilities.ts";
import type { Config, Gateway } from "../../core/config.ts";
import type { AwsSection } from "../../core/config-aws.ts";
import { servingGateways } from "../../core/config-rules.ts";
import { isBackboneTarget, REPO_ROOT } from "../config.ts";
import { suppress } from "../nag.ts";
import { IngressVpc } from "../network-stack.ts";

const SMTP_PORT = 25;
const SUBMISSION_PORT = 587;
/** What the container listens on (the Dockerfile's --port): unprivileged. */
export const CONTAINER_PORT = 2525;

export interface IngressServiceProps {
  readonly config: Config;
  readonly gateway: Gateway;
  readonly settings: AwsSection["ingress"];
  readonly logRetentionDays: logs.RetentionDays;
  /** s3:// URL of the directory's `latest` object, read at task start. */
  readonly directoryUrl: string;
  /** Hash of this gateway's part of the config: a change restarts the tasks. */
  readonly directoryView: string;
  readonly bucketName: string;
  /** The shared VPC (aws.sharedVpc); otherwise this construct builds its own. */
  readonly vpc?: ec2.IVpc | undefined;
}

export class IngressService extends Construct {
  readonly service: ecs.FargateService;
  readonly loadBalancer: elbv2.NetworkLoadBalancer;
  readonly targetGroups: elbv2.NetworkTargetGroup[] = [];
  readonly ports: number[];

  constructor(scope: Construct, id: string, props: IngressServiceProps) {
    super(scope, id);
    const { gateway: gw, settings } = props;
    const { sends, receives } = gatewayCapabilities(gw);
    const submission = sends || isBackboneTarget(props.config, gw);
    this.ports = [...(receives ? [SMTP_PORT] : []), ...(submission ? [SUBMISSION_PORT] : [])];

    const vpc = props.vpc ?? new IngressVpc(this, "Network", props.logRetentionDays).vpc;

    const lbSecurityGroup = new ec2.SecurityGroup(this, "LoadBalancerSg", {
      vpc,
      description: `SMTP ${this.ports.join(" and ")} from anywhere to the load balancer of ${gw.id}`,
      allowAllOutbound: false,
    });
    for (const port of this.ports)
      lbSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(port), `SMTP ${port}`);
    suppress(lbSecurityGroup, {
      "AwsSolutions-EC23":
        "An SMTP gateway is reached by any mail server on the internet (25) and by postoffices wherever they are (587); the ingress itself refuses relaying and unauthenticated submission.",
    });
    const taskSecurityGroup = new ec2.SecurityGroup(this, "TaskSg", {
      vpc,
      description: `${gw.id} ingress tasks: SMTP from the load balancer only, HTTPS out to AWS APIs`,
      allowAllOutbound: false,
    });
    taskSecurityGroup.addIngressRule(
      lbSecurityGroup,
      ec2.Port.tcp(CONTAINER_PORT),
      "SMTP from NLB",
    );
    taskSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), "S3, SQS, ECR, Logs");
    lbSecurityGroup.addEgressRule(taskSecurityGroup, ec2.Port.tcp(CONTAINER_PORT), "to the tasks");

    const cluster = new ecs.Cluster(this, "Cluster", { vpc });
    suppress(cluster, {
      "AwsSolutions-ECS4":
        "Container Insights bills per metric; scaling and alarms use the load balancer's free metrics and the service's CPU/memory utilization, which ECS publishes without it.",
    });
    const taskDefinition = new ecs.FargateTaskDefinition(this, "Task", {
      cpu: settings.cpu,
      memoryLimitMiB: settings.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const container = taskDefinition.addContainer("smtp", {
      // The context is what .dockerignore lets in (an allow-list of the sources the bundle
      // needs), and so is the asset hash: a README or config edit rebuilds no image.
      image: ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: "Dockerfile",
        platform: Platform.LINUX_ARM64,
        ignoreMode: IgnoreMode.DOCKER,
      }),
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: "ingress",
        logGroup: new logs.LogGroup(this, "Logs", { retention: props.logRetentionDays }),
      }),
      environment: {
        MAILBAG_DIRECTORY: props.directoryUrl,
        MAILBAG_DIRECTORY_VIEW: props.directoryView,
        MAILBAG_GATEWAY: gw.id,
        MAILBAG_BUCKET: props.bucketName,
        MAILBAG_BACKEND: "aws",
      },
      secrets: { ...this.passwords(props.config, gw), ...this.certificate(settings) },
      portMappings: [{ containerPort: CONTAINER_PORT, protocol: ecs.Protocol.TCP }],
      healthCheck: {
        command: [
          "CMD",
          "node",
          "-e",
          `require('net').connect(${CONTAINER_PORT},'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`,
        ],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(20),
      },
      // Open sessions finish their transaction (the ingress drains on SIGTERM).
      stopTimeout: Duration.seconds(60),
    });
    suppress(taskDefinition, {
      "AwsSolutions-IAM5[Resource::*]":
        "The execution role's ecr:GetAuthorizationToken has no resource-level permissions (https://docs.aws.amazon.com/AmazonECR/latest/userguide/security_iam_service-with-iam.html); every other statement names its repository or log group.",
      "AwsSolutions-ECS2":
        "The environment holds resource names and the gateway id, no secrets; submit passwords and the TLS key come from Secrets Manager as ECS secrets.",
    });

    this.service = new ecs.FargateService(this, "Service", {
      cluster,
      taskDefinition,
      desiredCount: settings.minTasks,
      assignPublicIp: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [taskSecurityGroup],
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriod: Duration.seconds(60),
    });

    const publicSubnets = vpc.selectSubnets({ subnetType: ec2.SubnetType.PUBLIC }).subnets;
    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, "Nlb", {
      vpc,
      internetFacing: true,
      crossZoneEnabled: true,
      securityGroups: [lbSecurityGroup],
      ...(settings.elasticIps
        ? {
            subnetMappings: publicSubnets.map((subnet, i) => ({
              subnet,
              allocationId: new ec2.CfnEIP(this, `Ip${i}`, {
                domain: "vpc",
                tags: [{ key: "Name", value: `mailbag ${gw.id} ingress ${i}` }],
              }).attrAllocationId,
            })),
          }
        : {}),
    });
    suppress(this.loadBalancer, {
      "AwsSolutions-ELB2":
        "NLB access logs exist only for TLS listeners; these are TCP passthrough (STARTTLS, when configured, ends in the ingress). VPC flow logs record rejected connections.",
    });
    for (const port of this.ports) {
      const listener = this.loadBalancer.addListener(`Smtp${port}`, {
        port,
        protocol: elbv2.Protocol.TCP,
      });
      this.targetGroups.push(
        listener.addTargets(`Ingress${port}`, {
          port: CONTAINER_PORT,
          protocol: elbv2.Protocol.TCP,
          preserveClientIp: true,
          deregistrationDelay: Duration.seconds(60),
          targets: [
            this.service.loadBalancerTarget({
              containerName: container.containerName,
              containerPort: CONTAINER_PORT,
            }),
          ],
          healthCheck: {
            protocol: elbv2.Protocol.TCP,
            interval: Duration.seconds(10),
            healthyThresholdCount: 2,
            unhealthyThresholdCount: 2,
          },
        }),
      );
    }
    this.scaleOnConnections(settings);
  }

  /**
   * Step scaling on open connections per healthy task (NLB ActiveFlowCount / HealthyHostCount):
   * an SMTP session holds a connection for its whole transaction, so connections, not CPU,
   * measure an ingress's load. Target tracking takes no metric math, hence steps.
   */
  private scaleOnConnections(settings: AwsSection["ingress"]): void {
    const scaling = this.service.autoScaleTaskCount({
      minCapacity: settings.minTasks,
      maxCapacity: settings.maxTasks,
    });
    const [firstGroup] = this.targetGroups;
    if (!firstGroup || settings.maxTasks === settings.minTasks) return;
    const perTask = new cloudwatch.MathExpression({
      expression: "IF(hosts > 0, flows / hosts, flows)",
      usingMetrics: {
        flows: this.loadBalancer.metrics.activeFlowCount({ statistic: "Average" }),
        hosts: firstGroup.metrics.healthyHostCount({ statistic: "Minimum" }),
      },
      period: Duration.minutes(1),
      label: "SMTP connections per healthy task",
    });
    const target = settings.connectionsPerTask;
    scaling.scaleOnMetric("Connections", {
      metric: perTask,
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: Math.floor(target * 0.3), change: -1 },
        { lower: target, change: +1 },
        { lower: target * 2, change: +2 },
      ],
      cooldown: Duration.minutes(3),
    });
  }

  /** Submit passwords of the postoffices this gateway sends for, from Secrets Manager. */
  private passwords(config: Config, gw: Gateway): Record<string, ecs.Secret> {
    const secrets: Record<string, ecs.Secret> = {};
    for (const user of this.submitUsers(config, gw)) {
      const secret = secretsmanager.Secret.fromSecretNameV2(
        this,
        `Password-${user.passwordEnv}`,
        `${config.prefix}/${user.passwordEnv}`,
      );
      secrets[user.passwordEnv] = ecs.Secret.fromSecretsManager(secret);
    }
    return secrets;
  }

  /**
   * The STARTTLS certificate chain and key (PEM) from one Secrets Manager secret with JSON keys
   * `cert` and `key`, as MAILBAG_TLS_CERT / MAILBAG_TLS_KEY (the variables the ingress reads).
   */
  private certificate(settings: AwsSection["ingress"]): Record<string, ecs.Secret> {
    if (!settings.tlsSecret) return {};
    const secret = secretsmanager.Secret.fromSecretNameV2(this, "Tls", settings.tlsSecret);
    return {
      MAILBAG_TLS_CERT: ecs.Secret.fromSecretsManager(secret, "cert"),
      MAILBAG_TLS_KEY: ecs.Secret.fromSecretsManager(secret, "key"),
    };
  }

  /**
   * The submit users of the postoffices this gateway sends for (hubs followed, as the ingress
   * resolves them): the only ones it authenticates, and must have a password for.
   */
  private submitUsers(config: Config, gw: Gateway) {
    const senders = servingGateways(config).send;
    return config.postoffices
      .filter((po) => senders.get(po.id) === gw.id)
      .flatMap((po) => po.submit.users);
  }
}
