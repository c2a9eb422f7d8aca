/**
 * What LocalStack's free edition can deploy of a synthesized stack. It has CloudFormation, S3,
 * SQS, SNS, IAM, CloudWatch, Logs and EC2 networking, but no ECS, no ELBv2, no ECR and no
 * application auto scaling. Its Lambda does not even create a function without fetching its
 * runtime ("Installation of lambda-runtime v0.1.41-pre failed" offline, checked with
 * LocalStack 4.14), and runs code only in Docker. So:
 *
 * - resources of the unsupported services are removed (`UNSUPPORTED`), and with them every
 *   resource and output that refers to one (Ref, Fn::GetAtt, Fn::Sub), transitively; a DependsOn
 *   on a removed resource is dropped;
 * - custom resources (the directory's BucketDeployment, the default-security-group restriction)
 *   go, as do all Lambda resources (functions, event source mappings, layers) and so the alarms
 *   on their metrics; the functions' roles, policies and log groups stay;
 * - the bootstrap-version parameter and rule go (they read an SSM parameter `cdk bootstrap`
 *   writes), and so does CDK's metadata resource.
 *
 * What stays is what a first deploy creates and a retry must be able to create again: buckets,
 * queues, roles and policies, log groups, the alarm topic and alarms, the VPC and Elastic IPs,
 * the functions' roles and log groups. Pure: a template in, a template out.
 */

type Json = unknown;
interface Resource {
  Type: string;
  Properties?: Record<string, Json>;
  DependsOn?: string | string[];
  [key: string]: Json;
}
export interface CfnTemplate {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, Json>;
  Parameters?: Record<string, Json>;
  Rules?: Record<string, Json>;
  [key: string]: Json;
}

/** Resource type prefixes LocalStack's free edition does not deploy. */
export const UNSUPPORTED = [
  "AWS::ECS::",
  "AWS::ElasticLoadBalancingV2::",
  "AWS::ECR::",
  "AWS::ApplicationAutoScaling::",
  "AWS::CDK::Metadata",
  "AWS::Lambda::",
  "Custom::",
  "AWS::CloudFormation::CustomResource",
];

/** Every logical id `value` refers to. */
function references(value: Json, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) references(v, into);
  } else if (value && typeof value === "object") {
    const o = value as Record<string, Json>;
    if (typeof o.Ref === "string") into.add(o.Ref);
    const getAtt = o["Fn::GetAtt"];
    if (Array.isArray(getAtt)) into.add(String(getAtt[0]));
    else if (typeof getAtt === "string") into.add(getAtt.split(".")[0] as string);
    const sub = o["Fn::Sub"];
    const text = Array.isArray(sub) ? sub[0] : sub;
    if (typeof text === "string")
      for (const m of text.matchAll(/\$\{([A-Za-z0-9]+)(\.[A-Za-z]+)?\}/g))
        into.add(m[1] as string);
    for (const v of Object.values(o)) references(v, into);
  }
  return into;
}

export function stripForLocalStack(input: CfnTemplate): CfnTemplate {
  const template = structuredClone(input);
  const resources = template.Resources;
  const removed = new Set<string>();
  for (const [id, r] of Object.entries(resources))
    if (UNSUPPORTED.some((t) => r.Type.startsWith(t))) removed.add(id);
  // Whatever refers to a removed resource goes too, until nothing more does.
  for (let changed = true; changed; ) {
    changed = false;
    for (const [id, r] of Object.entries(resources)) {
      if (removed.has(id)) continue;
      const { DependsOn: _dependsOn, ...rest } = r;
      if ([...references(rest)].some((ref) => removed.has(ref))) {
        removed.add(id);
        changed = true;
      }
    }
  }
  for (const id of removed) delete resources[id];
  for (const r of Object.values(resources)) {
    if (r.DependsOn !== undefined) {
      const deps = (Array.isArray(r.DependsOn) ? r.DependsOn : [r.DependsOn]).filter(
        (d) => !removed.has(d),
      );
      if (deps.length > 0) r.DependsOn = deps;
      else delete r.DependsOn;
    }
  }
  for (const [id, output] of Object.entries(template.Outputs ?? {}))
    if ([...references(output)].some((ref) => removed.has(ref)) && template.Outputs)
      delete template.Outputs[id];
  delete template.Parameters?.BootstrapVersion;
  delete template.Rules?.CheckBootstrapVersion;
  if (template.Parameters && Object.keys(template.Parameters).length === 0)
    delete template.Parameters;
  if (template.Rules && Object.keys(template.Rules).length === 0) delete template.Rules;
  return template;
}
