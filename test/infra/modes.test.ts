/**
 * What each gateway mode may and may not have, and least privilege: asserted on the templates of
 * the dedicated layout (a `send` and a `receive` gateway, SES smart host) and the single layout
 * (`both`, SES with a configuration set, MX records).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { parseConfig } from "../../core/config.ts";
import { gatewayResources } from "../../core/names.ts";
import { REPO_ROOT } from "../../infra/config.ts";
import { defineLayout } from "../../infra/layout.ts";
import {
  actions,
  deployOf,
  resources,
  roleStatements,
  statements,
  synthConfig,
  synthExample,
} from "./helpers.ts";

function gateway(layout: string, id: string): Template {
  const t = synthExample(layout).gateways.get(id);
  assert.ok(t, `no stack for ${id}`);
  return t;
}

const DATA = /^(s3|sqs):/;
const DIRECTORY_OBJECTS =
  "arn:<AWS::Partition>:s3:::<import:Mailbag-example-single-directory-bucket>/directory/*";

/** The dedicated layout with Route 53 zones (the example itself has no placeholder zone id). */
const dedicatedWithDns = () => {
  const raw = JSON.parse(readFileSync(join(REPO_ROOT, "examples", "dedicated.json"), "utf8"));
  raw.aws.dns = { zones: [{ id: "Z0123456789ABCDEFGHIJ", name: "company.example" }] };
  return synthConfig(deployOf(raw), { nag: false }).gateways;
};

/** action → the resources the single layout's role `rolePrefix` has it on. */
function granted(rolePrefix: string): (action: string) => string[] {
  const s = roleStatements(gateway("single", "GW1"), rolePrefix);
  return (action) => s.filter((x) => actions(x).includes(action)).flatMap(resources);
}

describe("least privilege", () => {
  for (const [layout, ids] of [
    ["single", ["GW1"]],
    ["dedicated", ["SEND", "RECV"]],
    ["multiple-dedicated", ["SEND1", "RECV1", "SEND2", "RECV2"]],
  ] as const) {
    for (const id of ids) {
      test(`${layout}/${id}: no wildcard resource on S3 or SQS actions, no wildcard actions`, () => {
        const all = statements(gateway(layout, id));
        assert.ok(all.length > 0, "no policy statements found");
        let checked = 0;
        for (const s of all) {
          for (const a of actions(s)) assert.doesNotMatch(a, /\*/, `wildcard action ${a}`);
          if (!actions(s).some((a) => DATA.test(a))) continue;
          for (const r of resources(s)) {
            checked += 1;
            assert.notEqual(r, "*", `${actions(s)} on *`);
            // Object ARNs name a key prefix of the gateway's own bucket, never the whole bucket.
            assert.doesNotMatch(r, /^(<[^>]+>|arn:[^/]+)\/\*$/, `${actions(s)} on ${r}`);
          }
        }
        assert.ok(checked > 0, "no S3 or SQS resource was checked");
      });
    }
  }

  test("router: reads messages/*, writes inbound/* and messages/* (status records, reports), sends to its own queues only", () => {
    const by = granted("RouterRole");
    const reads = by("s3:GetObject");
    assert.equal(reads.length, 2);
    assert.ok(reads.includes("<MailbagBucketC35588E8>/messages/*"));
    assert.ok(reads.includes(DIRECTORY_OBJECTS), String(reads));
    assert.deepEqual(by("s3:PutObject").sort(), [
      "<MailbagBucketC35588E8>/inbound/*",
      "<MailbagBucketC35588E8>/messages/*",
    ]);
    // Delivery jobs; reports through the accept path (route queue); poison jobs to its DLQ.
    assert.deepEqual(by("sqs:SendMessage").sort(), [
      "<QueuesdeliverB7E7AE7E>",
      "<QueuesrouteF85C9666>",
      "<Queuesroutedlq71F1D9C4>",
    ]);
    assert.deepEqual(by("sqs:ReceiveMessage"), ["<QueuesrouteF85C9666>"]);
    // Only what a failed accept of a report wrote (core/accept.ts cleans up).
    assert.deepEqual(by("s3:DeleteObject"), ["<MailbagBucketC35588E8>/messages/*"]);
  });

  test("delivery: reads and writes messages/* (status records, reports), consumes its line and the retry line", () => {
    const by = granted("DeliverRole");
    assert.ok(by("s3:GetObject").includes("<MailbagBucketC35588E8>/messages/*"));
    assert.deepEqual(by("s3:PutObject"), ["<MailbagBucketC35588E8>/messages/*"]);
    assert.deepEqual(by("sqs:ReceiveMessage").sort(), [
      "<QueuesdeliverB7E7AE7E>",
      "<RetryQueueFFB8122F>",
    ]);
    // Retries (the retry line, due ones back in line), its dead letters, reports.
    assert.deepEqual(by("sqs:SendMessage").sort(), [
      "<QueuesdeliverB7E7AE7E>",
      "<Queuesdeliverdlq7E650D3D>",
      "<QueuesrouteF85C9666>",
      "<RetryQueueFFB8122F>",
    ]);
  });

  test("ingress task: puts and deletes messages/*, reads the directory, sends to its own route queue only", () => {
    const by = granted("IngressTaskTaskRole");
    for (const a of ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"])
      assert.deepEqual(by(a), ["<MailbagBucketC35588E8>/messages/*"], a);
    assert.deepEqual(by("s3:GetObject"), [DIRECTORY_OBJECTS]);
    assert.deepEqual(by("sqs:SendMessage"), ["<QueuesrouteF85C9666>"]);
  });

  test("SES: SendEmail (v2, the default) and SendRawEmail only as the gateway's own postoffice domains and configuration set", () => {
    const s = roleStatements(gateway("single", "GW1"), "DeliverRole").filter((x) =>
      actions(x).includes("ses:SendRawEmail"),
    );
    assert.equal(s.length, 1);
    assert.deepEqual(actions(s[0] as (typeof s)[0]).sort(), ["ses:SendEmail", "ses:SendRawEmail"]);
    const arns = resources(s[0] as (typeof s)[0]).map((r) =>
      r.replace(/^.*:ses:<AWS::Region>:/, ""),
    );
    assert.deepEqual(arns.sort(), [
      "<AWS::AccountId>:configuration-set/mailbag",
      "<AWS::AccountId>:identity/eng.company.example",
      "<AWS::AccountId>:identity/hq.company.example",
      "<AWS::AccountId>:identity/msmailgwy.company.example",
      "<AWS::AccountId>:identity/sales.company.example",
    ]);
  });

  test('SES v1 API (smartHost.ses.api "v1"): SendRawEmail alone, on the same resources', () => {
    const raw = JSON.parse(readFileSync(join(REPO_ROOT, "examples", "single.json"), "utf8"));
    raw.smartHost.ses.api = "v1";
    const t = synthConfig(deployOf(raw), { nag: false }).gateways.get("GW1");
    assert.ok(t);
    const ses = statements(t).filter((x) => actions(x).some((a) => a.startsWith("ses:")));
    assert.equal(ses.length, 1);
    assert.deepEqual(actions(ses[0] as (typeof ses)[0]), ["ses:SendRawEmail"]);
    assert.equal(resources(ses[0] as (typeof ses)[0]).length, 5);
  });

  test("an SMTP smart host means no SES permission at all", () => {
    for (const id of ["SEND1", "SEND2"]) {
      const deliver = roleStatements(gateway("multiple-dedicated", id), "DeliverRole");
      assert.ok(deliver.length > 0, `${id}: no delivery role statements found`);
      const ses = statements(gateway("multiple-dedicated", id)).filter((s) =>
        actions(s).some((a) => a.startsWith("ses:")),
      );
      assert.deepEqual(ses, [], id);
    }
  });
});

describe("receive-only gateway", () => {
  const recv = () => gateway("dedicated", "RECV");
  let dns: ReturnType<typeof dedicatedWithDns> | undefined;
  const withDns = (id: string) => {
    dns ??= dedicatedWithDns();
    const t = dns.get(id);
    assert.ok(t);
    return t;
  };

  test("has no delivery function, no delivery queue and no SES permission", () => {
    const t = recv();
    const names = gatewayResources("example-dedicated", "RECV");
    assert.deepEqual(
      Object.keys(
        t.findResources("AWS::Lambda::Function", {
          Properties: { FunctionName: Match.stringLikeRegexp("deliver") },
        }),
      ),
      [],
    );
    assert.deepEqual(
      Object.keys(
        t.findResources("AWS::SQS::Queue", {
          Properties: { QueueName: names.queues.deliver },
        }),
      ),
      [],
    );
    const all = statements(t);
    assert.ok(all.length > 0, "no policy statements found");
    const ses = all.filter((s) => actions(s).some((a) => a.startsWith("ses:")));
    assert.deepEqual(ses, []);
  });

  test("listens on 25 only and publishes MX records for its postoffices", () => {
    recv().resourceCountIs("AWS::ElasticLoadBalancingV2::Listener", 1);
    recv().hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 25,
      Protocol: "TCP",
    });
    const t = withDns("RECV");
    t.resourceCountIs("AWS::Route53::RecordSet", 4);
    for (const domain of ["hq", "sales", "eng"]) {
      t.hasResourceProperties("AWS::Route53::RecordSet", {
        Name: `${domain}.company.example.`,
        Type: "MX",
        ResourceRecords: ["10 mx.company.example"],
      });
    }
  });
});

describe("send-only gateway", () => {
  const send = () => gateway("dedicated", "SEND");

  test("has no port-25 listener and no port-25 ingress rule", () => {
    const t = send();
    t.resourceCountIs("AWS::ElasticLoadBalancingV2::Listener", 1);
    t.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", { Port: 587 });
    const open25 = Object.values(t.findResources("AWS::EC2::SecurityGroup")).flatMap((sg) =>
      (
        (sg as { Properties: { SecurityGroupIngress?: { FromPort: number; CidrIp?: string }[] } })
          .Properties.SecurityGroupIngress ?? []
      ).filter((r) => r.FromPort === 25 && r.CidrIp !== undefined),
    );
    assert.deepEqual(open25, []);
  });

  test("publishes no MX record (it receives for nobody), only its host name", () => {
    const t = dedicatedWithDns().get("SEND");
    assert.ok(t);
    t.resourceCountIs("AWS::Route53::RecordSet", 1);
    t.hasResourceProperties("AWS::Route53::RecordSet", {
      Name: "smtp-out.company.example.",
      Type: "A",
    });
  });

  test("its router has no inbound routing: it writes only messages/* (refused recipients' status, reports)", () => {
    const s = roleStatements(send(), "RouterRole");
    assert.deepEqual(s.filter((x) => actions(x).includes("s3:PutObject")).flatMap(resources), [
      "<MailbagBucketC35588E8>/messages/*",
    ]);
  });

  test("delivers through SES as its postoffices' identities", () => {
    const s = roleStatements(send(), "DeliverRole").filter((x) =>
      actions(x).includes("ses:SendRawEmail"),
    );
    assert.equal(s.length, 1);
  });
});

describe("queues and functions", () => {
  test("FIFO queues: explicit deduplication, SSE-SQS, 6x function timeout, DLQ after SQS's 1000 receives (the functions count failures themselves)", () => {
    const { gateways, deploy } = synthExample("multiple");
    const t = gateways.get("EAST");
    assert.ok(t);
    const names = gatewayResources(deploy.config.prefix, "EAST");
    for (const role of ["route", "deliver"] as const) {
      t.hasResourceProperties("AWS::SQS::Queue", {
        QueueName: names.queues[role],
        FifoQueue: true,
        ContentBasedDeduplication: false,
        SqsManagedSseEnabled: true,
        VisibilityTimeout: 360,
        MessageRetentionPeriod: 1209600,
        // Receives include those behind a failing record of a batch and the line-hold's.
        RedrivePolicy: {
          maxReceiveCount: 1000,
          deadLetterTargetArn: Match.anyValue(),
        },
      });
      t.hasResourceProperties("AWS::SQS::Queue", {
        QueueName: names.deadLetterQueues[role],
        FifoQueue: true,
        ContentBasedDeduplication: false,
      });
    }
    // TLS only on every queue: the 4 FIFO queues, the retry queue and its dead-letter queue,
    // and the postoffice exchange's notification queues (EAST's 2 pickup postoffices; the
    // intake queue and its dead-letter queue).
    t.resourceCountIs("AWS::SQS::QueuePolicy", 4 + 2 + 2 + 2);
  });

  test("event sources: ten records per batch on a FIFO line, one elsewhere, ReportBatchItemFailures, concurrency capped", () => {
    const t = gateway("single", "GW1");
    // Router, delivery (its line and the retry line), and the outbound mailbag intake.
    t.resourceCountIs("AWS::Lambda::EventSourceMapping", 4);
    t.allResourcesProperties("AWS::Lambda::EventSourceMapping", {
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    const sizes = Object.values(t.findResources("AWS::Lambda::EventSourceMapping"))
      .map((m) => (m.Properties as { BatchSize: number }).BatchSize)
      .sort((a, b) => a - b);
    // The retry line and the intake (standard queues), then the route and delivery lines.
    assert.deepEqual(sizes, [1, 1, 10, 10]);
  });

  test("functions: nodejs24.x on arm64, 128 MB, 60 s, reserved concurrency, their own bucket", () => {
    const { gateways, deploy } = synthExample("multiple");
    const t = gateways.get("WEST");
    assert.ok(t);
    for (const role of ["route", "deliver"]) {
      t.hasResourceProperties("AWS::Lambda::Function", {
        FunctionName: `example-multiple-WEST-${role}`,
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        MemorySize: 128,
        Timeout: 60,
        // Delivery: 2 per event source (its line, the retry line).
        ReservedConcurrentExecutions: role === "route" ? 2 : 4,
        Environment: {
          Variables: Match.objectLike({
            MAILBAG_DIRECTORY: {
              "Fn::Join": [
                "",
                [
                  "s3://",
                  { "Fn::ImportValue": "Mailbag-example-multiple-directory-bucket" },
                  `/directory/${deploy.hash}.json`,
                ],
              ],
            },
            MAILBAG_GATEWAY: "WEST",
            MAILBAG_BUCKET: { Ref: Match.stringLikeRegexp("^MailbagBucket") },
          }),
        },
      });
    }
  });
});

describe("mailbag bucket and ingress", () => {
  test("bucket: SSE-S3, public access blocked, TLS enforced, lifecycle from config", () => {
    const t = gateway("multiple", "EAST");
    t.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({ Id: "spool", Prefix: "messages/", ExpirationInDays: 30 }),
          Match.objectLike({
            Id: "inbound",
            Prefix: "inbound/",
            ExpirationInDays: 365,
            Transitions: [{ StorageClass: "STANDARD_IA", TransitionInDays: 30 }],
          }),
        ],
      },
    });
    t.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      },
    });
  });

  test("ingress: preserved client IPs, TCP health checks, tasks reachable only from the NLB", () => {
    const t = gateway("single", "GW1");
    t.resourceCountIs("AWS::ElasticLoadBalancingV2::TargetGroup", 2);
    t.allResourcesProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      Port: 2525,
      Protocol: "TCP",
      TargetType: "ip",
      HealthCheckProtocol: "TCP",
      TargetGroupAttributes: Match.arrayWith([
        { Key: "preserve_client_ip.enabled", Value: "true" },
      ]),
    });
    t.hasResourceProperties("AWS::ECS::TaskDefinition", {
      RuntimePlatform: { CpuArchitecture: "ARM64", OperatingSystemFamily: "LINUX" },
      ContainerDefinitions: [
        Match.objectLike({
          PortMappings: [{ ContainerPort: 2525, Protocol: "tcp" }],
          Environment: Match.arrayWith([{ Name: "MAILBAG_GATEWAY", Value: "GW1" }]),
        }),
      ],
    });
    t.hasResourceProperties("AWS::EC2::SecurityGroupIngress", {
      FromPort: 2525,
      ToPort: 2525,
      SourceSecurityGroupId: Match.anyValue(),
    });
    t.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", {
      MinCapacity: 2,
      MaxCapacity: 6,
    });
  });

  test("secrets: own postoffices' submit passwords and the TLS certificate, nothing else", () => {
    const t = gateway("multiple-dedicated", "SEND1");
    const [task] = Object.values(t.findResources("AWS::ECS::TaskDefinition"));
    const container = (
      task as {
        Properties: {
          ContainerDefinitions: {
            Secrets: { Name: string; ValueFrom: unknown }[];
            Environment: { Name: string }[];
          }[];
        };
      }
    ).Properties.ContainerDefinitions[0];
    assert.ok(container);
    assert.deepEqual(container.Secrets.map((s) => s.Name).sort(), [
      "MAILBAG_HQ_PASSWORD",
      "MAILBAG_TLS_CERT",
      "MAILBAG_TLS_KEY",
    ]);
    // The TLS variables are the `cert` and `key` JSON fields of the one configured secret.
    const tls = container.Secrets.filter((s) => s.Name.startsWith("MAILBAG_TLS_"));
    for (const s of tls)
      assert.match(JSON.stringify(s.ValueFrom), /:secret:example-multided\/tls:(cert|key)::"/);
    assert.deepEqual(
      container.Environment.filter((e) => e.Name.endsWith("_PASSWORD")),
      [],
    );
  });
});

describe("backbone and hubs", () => {
  const raw = {
    network: "COMPANY",
    prefix: "example-backbone",
    postoffices: [
      { id: "HQ", domain: "hq.company.example" },
      { id: "PARIS", domain: "paris.company.example" },
    ],
    gateways: [
      { id: "HQGW", mode: "both", postoffices: ["HQ"], hostname: "gw.hq.company.example" },
      {
        id: "PARISIN",
        mode: "receive",
        postoffices: ["PARIS"],
        hostname: "in.paris.company.example",
      },
    ],
    addressSpaces: [{ pattern: "COMPANY/PARIS/*", gateway: "PARISIN" }],
    smartHost: { url: "smtp://relay.company.example:587" },
  };
  const stackOf = (config: object, id: string) => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = defineLayout(app, deployOf(config), { nag: false }).gateways.get(id);
    assert.ok(stack, `no stack for ${id}`);
    return Template.fromStack(stack);
  };

  test("the example parses with address spaces", () => {
    assert.equal(parseConfig(raw).addressSpaces?.length, 1);
  });

  test("a downstream postoffice reached only through its hub gets its MX at the hub's gateway", () => {
    const hub = {
      ...raw,
      postoffices: [
        ...raw.postoffices,
        { id: "BRANCH", domain: "branch.company.example", via: "PARIS" },
      ],
      aws: { dns: { zones: [{ id: "Z0123456789ABCDEFGHIJ", name: "company.example" }] } },
    };
    stackOf(hub, "PARISIN").hasResourceProperties("AWS::Route53::RecordSet", {
      Name: "branch.company.example.",
      Type: "MX",
      ResourceRecords: ["10 in.paris.company.example"],
    });
  });

  test("a receive-only gateway that is a backbone target also listens on 587", () => {
    const ports = Object.values(
      stackOf(raw, "PARISIN").findResources("AWS::ElasticLoadBalancingV2::Listener"),
    ).map((l) => (l as { Properties: { Port: number } }).Properties.Port);
    assert.deepEqual(ports.sort(), [25, 587]);
  });
});
