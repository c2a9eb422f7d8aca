/**
 * A gateway's mailbag bucket (its gateway postoffice, seed Q132060): SSE-S3, no public access,
 * TLS only, kept when the stack is deleted. Lifecycle: the spool (`messages/`) expires, the
 * inbound bags (`inbound/`) only if configured, both move to Standard-IA when they get old.
 */
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import type { AwsSection } from "../../core/config-aws.ts";
import { suppress } from "../nag.ts";

/** The object-key prefixes of core/names.ts `keys`, as IAM resource patterns. */
export type MailbagPrefix = "messages/*" | "messages/*.status.json" | "inbound/*";

export class MailbagBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, name: string, lifecycle: AwsSection["mailbag"]) {
    super(scope, id);
    const transition = (expireDays: number | undefined): s3.Transition[] =>
      expireDays !== undefined && expireDays <= lifecycle.infrequentAccessDays
        ? []
        : [
            {
              storageClass: s3.StorageClass.INFREQUENT_ACCESS,
              transitionAfter: Duration.days(lifecycle.infrequentAccessDays),
            },
          ];
    const expire = (days: number | undefined) =>
      days === undefined ? {} : { expiration: Duration.days(days) };
    this.bucket = new s3.Bucket(this, "Bucket", {
      bucketName: name,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: "spool",
          prefix: "messages/",
          ...expire(lifecycle.spoolExpireDays),
          transitions: transition(lifecycle.spoolExpireDays),
          // A DATA stream cut mid-upload leaves parts the ingress could not abort.
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          id: "inbound",
          prefix: "inbound/",
          ...expire(lifecycle.inboundExpireDays),
          transitions: transition(lifecycle.inboundExpireDays),
        },
      ],
    });
    suppress(this.bucket, {
      "AwsSolutions-S1":
        "Server access logs would write a log object per request (several per message: at 10M messages/day that doubles the request bill). Object-level audit, when wanted, is CloudTrail S3 data events, enabled per account.",
    });
  }

  /** Lets `grantee` do `actions` on the objects under `prefixes` only. */
  grantObjects(grantee: iam.IGrantable, actions: string[], ...prefixes: MailbagPrefix[]): void {
    const principal = grantee.grantPrincipal;
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions,
        resources: prefixes.map((p) => this.bucket.arnForObjects(p)),
      }),
    );
    if (!(principal instanceof Construct)) return;
    const logicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    for (const prefix of prefixes) {
      suppress(principal, {
        [`AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${prefix}]`]: `A key prefix of this gateway's own mailbag bucket (core/names.ts keys): message ids are minted per message, so objects cannot be named in advance.`,
      });
    }
  }

  /**
   * s3:ListBucket on this bucket alone: without it a GetObject of a missing key is a 403, and
   * the router and delivery function must tell "no envelope/status yet" (404) from a denial.
   */
  grantMissingKeyIs404(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ["s3:ListBucket"], resources: [this.bucket.bucketArn] }),
    );
  }
}
