/** Synthesizes an example layout in memory for the template tests. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { parseConfig } from "../../core/config.ts";
import { loadConfigFile } from "../../functions/shared/config-file.ts";
import { type DeployConfig, deployConfig, REPO_ROOT } from "../../infra/config.ts";
import { defineLayout, type Layout } from "../../infra/layout.ts";

export interface Synthesized {
  readonly deploy: DeployConfig;
  /** The cloud assembly directory (templates, staged assets). */
  readonly outdir: string;
  readonly layout: Layout;
  readonly stackNames: string[];
  readonly directory: Template;
  readonly gateways: ReadonlyMap<string, Template>;
}

/** The example layouts every template test covers (examples/<name>.json). */
export const LAYOUTS = ["single", "multiple", "dedicated", "multiple-dedicated"] as const;

export type CfnResource = {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
};

/** A template's resources by logical id. */
export function resourcesOf(t: Template): [string, CfnResource][] {
  return Object.entries(t.toJSON().Resources as Record<string, CfnResource>);
}

const cache = new Map<string, Synthesized>();

/**
 * `examples/<name>.json` through the real layout, cdk-nag included (synth throws on any
 * unacknowledged finding). `bundle`: run esbuild on the functions (slower; one layout does).
 */
export function synthExample(name: string, bundle = false): Synthesized {
  const key = `${name}:${bundle}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const file = join(REPO_ROOT, "examples", `${name}.json`);
  const result = synthConfig(deployConfig(loadConfigFile(file)), {
    bundle,
  });
  cache.set(key, result);
  return result;
}

/** A config given as JSON, validated as the CDK app does (the environment's overrides applied). */
export function deployOf(raw: unknown): DeployConfig {
  return deployConfig({ config: parseConfig(raw, process.env), raw });
}

/** Any config through the real layout (cdk-nag included unless `nag: false`). */
export function synthConfig(
  deploy: DeployConfig,
  opts: { bundle?: boolean; nag?: boolean } = {},
): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), "mailbag-infra-test-"));
  const app = new App({
    outdir,
    context: opts.bundle ? {} : { "aws:cdk:bundling-stacks": [] },
  });
  const layout = defineLayout(app, deploy, { nag: opts.nag ?? true });
  const assembly = app.synth();
  return {
    deploy,
    outdir,
    layout,
    stackNames: assembly.stacks.map((s) => s.stackName).sort(),
    directory: Template.fromStack(layout.directory),
    gateways: new Map([...layout.gateways].map(([id, stack]) => [id, Template.fromStack(stack)])),
  };
}

export interface Statement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Effect: string;
}

/** Every IAM policy statement of a template (inline policies of AWS::IAM::Policy). */
export function statements(template: Template): Statement[] {
  return Object.values(template.findResources("AWS::IAM::Policy")).flatMap(
    (r) =>
      (r as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties
        .PolicyDocument.Statement,
  );
}

export function actions(s: Statement): string[] {
  return Array.isArray(s.Action) ? s.Action : [s.Action];
}

/** The statements of the policy attached to the role whose logical id starts with `rolePrefix`. */
export function roleStatements(template: Template, rolePrefix: string): Statement[] {
  const policies = template.findResources("AWS::IAM::Policy");
  return Object.values(policies)
    .filter((p) =>
      (p as { Properties: { Roles: { Ref: string }[] } }).Properties.Roles.some((r) =>
        r.Ref.startsWith(rolePrefix),
      ),
    )
    .flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties
          .PolicyDocument.Statement,
    );
}

/** `{"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/messages/*"]]}` → "<bucket>/messages/*". */
export function describeResource(resource: unknown): string {
  if (typeof resource === "string") return resource;
  const r = resource as Record<string, unknown>;
  if (r["Fn::GetAtt"]) return `<${(r["Fn::GetAtt"] as string[])[0]}>`;
  if (r.Ref) return `<${r.Ref as string}>`;
  if (r["Fn::ImportValue"]) return `<import:${describeResource(r["Fn::ImportValue"])}>`;
  if (r["Fn::Sub"]) return String(r["Fn::Sub"]);
  if (r["Fn::Join"]) {
    const [sep, parts] = r["Fn::Join"] as [string, unknown[]];
    return parts.map(describeResource).join(sep);
  }
  return JSON.stringify(resource);
}

export function resources(s: Statement): string[] {
  return (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map(describeResource);
}
