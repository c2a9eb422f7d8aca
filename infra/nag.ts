/**
 * cdk-nag v3: the AwsSolutions pack is a CDK policy-validation plugin on the whole app. A finding
 * is either fixed or acknowledged here with its reason written next to it (CDK's
 * Validations.acknowledge; granular ids such as `AwsSolutions-IAM5[Resource::...]` name one
 * finding only); infra/check.sh fails on anything else.
 */
import { Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/** Acknowledges rules (or single findings) on a construct and everything under it. */
export function suppress(scope: IConstruct, reasons: Record<string, string>): void {
  for (const [id, reason] of Object.entries(reasons))
    Validations.of(scope).acknowledge({ id, reason });
}
