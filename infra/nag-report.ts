/**
 * `node infra/nag-report.ts CONFIG...`: the cdk-nag AwsSolutions result per layout, for CI logs.
 * `cdk synth` already fails on any unacknowledged finding (cdk-nag v3 is a CDK validation
 * plugin); this prints what passed and every acknowledgment with its reason, so the suppressions
 * are reviewed where the result is read. Exit 1 on any violation.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, CfnResource, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { configPath, loadConfig } from "../functions/shared/config-file.ts";
import { deployConfig } from "./config.ts";
import { defineLayout } from "./layout.ts";

function acknowledgments(root: IConstruct): Map<string, { reason: string; resources: number }> {
  const found = new Map<string, { reason: string; resources: number }>();
  const walk = (node: IConstruct, inherited: Map<string, string>) => {
    const own = new Map(inherited);
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        own.set(id.replace(/^annotation::/i, ""), reason);
      }
    }
    if (CfnResource.isCfnResource(node)) {
      for (const [id, reason] of own) {
        const seen = found.get(id);
        found.set(id, { reason, resources: (seen?.resources ?? 0) + 1 });
      }
    }
    for (const child of node.node.children) walk(child, own);
  };
  walk(root, new Map());
  return found;
}

let failed = false;
for (const file of process.argv.slice(2)) {
  const outdir = mkdtempSync(join(tmpdir(), "mailbag-nag-"));
  try {
    // No bundling: the rules read the construct tree, not the function code.
    const app = new App({ outdir, context: { "aws:cdk:bundling-stacks": [] } });
    defineLayout(app, deployConfig(await loadConfig({ file: configPath(file) })), {
      nag: false,
    });
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const acks = acknowledgments(app);
    const stacks = app.node.children.length;
    process.stdout.write(
      `cdk-nag AwsSolutions ${file}: ${stacks} stacks, ${report.violations.length} violations, ${[...acks.keys()].filter((id) => id.startsWith("AwsSolutions-")).length} acknowledged rules/findings\n`,
    );
    for (const v of report.violations) {
      failed = true;
      const where = v.violatingResources.map((r) => r.constructPath).join(", ");
      process.stdout.write(`  VIOLATION ${v.ruleName}: ${where}\n`);
    }
    // CDK's own CloudFormation-Validate acknowledgments (inside aws-cdk-lib constructs) are not ours.
    const ours = [...acks].filter(([id]) => id.startsWith("AwsSolutions-"));
    for (const [id, { reason, resources }] of ours.sort(([a], [b]) => a.localeCompare(b))) {
      process.stdout.write(`  acknowledged ${id} (${resources} resources in scope): ${reason}\n`);
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
process.exitCode = failed ? 1 : 0;
