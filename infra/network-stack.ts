/**
 * The VPC of the gateways' ingress services: public subnets in two Availability Zones, no NAT
 * gateway (the tasks have public IPs and reach AWS APIs over HTTPS), rejected flows logged. By
 * default each gateway stack builds its own; with `aws.sharedVpc` one `Mailbag-<prefix>-network`
 * stack holds it for all of them, since the default quota is 5 VPCs per region
 * (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html) and the larger
 * layouts of docs/deploy.md need 18-24 gateways.
 */
import { Stack, type StackProps } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

export class IngressVpc extends Construct {
  readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, logRetentionDays: logs.RetentionDays) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
    });
    this.vpc.addFlowLog("RejectedFlows", {
      trafficType: ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, "FlowLogs", { retention: logRetentionDays }),
      ),
    });
  }
}

export class NetworkStack extends Stack {
  readonly vpc: ec2.IVpc;

  constructor(
    scope: Construct,
    id: string,
    logRetentionDays: logs.RetentionDays,
    props?: StackProps,
  ) {
    super(scope, id, props);
    this.vpc = new IngressVpc(this, "Ingress", logRetentionDays).vpc;
  }
}
