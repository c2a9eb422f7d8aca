/**
 * The config as the CDK app sees it: the same file `mailbag start` reads, validated by the same
 * parseConfig, plus the raw JSON (published unchanged as the directory) and its content hash.
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { Config, Gateway } from "../core/config.ts";
import { type AwsSection, awsSettings } from "../core/config-aws.ts";
import { servingGateways } from "../core/config-rules.ts";
import { ConfigError } from "../core/errors.ts";
import type { LoadedConfig } from "../functions/shared/config-file.ts";

/** The repository root: Docker build context of the ingress image (narrowed by .dockerignore), root of the function entries. */
export const REPO_ROOT = resolve(import.meta.dirname, "..");

export interface DeployConfig {
  readonly config: Config;
  readonly aws: AwsSection;
  /** The config file's JSON exactly as written: what the directory publishes. */
  readonly raw: unknown;
  /** First 16 hex digits of the SHA-256 of `raw`: names the directory object. */
  readonly hash: string;
}

/**
 * The deployment view of a config loaded by the one loader (functions/shared/config-file.ts).
 * The CDK app authenticates no SMTP client.
 */
export function deployConfig(loaded: LoadedConfig): DeployConfig {
  const { config, raw } = loaded;
  const issues = config.gateways.flatMap((gw, i) =>
    ["directory", "network"].includes(gw.id.toLowerCase())
      ? [{ path: `gateways[${i}].id`, reason: `'${gw.id}' names a shared stack` }]
      : [],
  );
  if (issues.length > 0) throw new ConfigError(issues);
  return { config, aws: awsSettings(config.aws), raw, hash: contentHash(raw) };
}

function contentHash(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

/**
 * The part of the config one gateway's ingress acts on: everything but the other gateways, the
 * postoffices it neither sends nor receives for, and the deployment settings. Its hash goes into
 * the ingress task definition, so the ingress restarts (and rereads the directory) exactly when
 * its own view changes, and adding another gateway leaves its task definition alone.
 */
export function ingressView(deploy: DeployConfig, gw: Gateway): string {
  const raw = deploy.raw as Record<string, unknown>;
  const served = new Set(gw.postoffices);
  for (const [po, g] of servingGateways(deploy.config).receive) if (g === gw.id) served.add(po);
  const { gateways, postoffices, aws: _aws, ...rest } = raw;
  return contentHash({
    ...rest,
    gateways: (gateways as { id: string }[]).filter((g) => g.id === gw.id),
    postoffices: (postoffices as { id: string }[]).filter((po) => served.has(po.id)),
  });
}

/**
 * Whether other gateways carry backbone mail to `gw` (it is the target of an address space,
 * docs/routing.md#backbone). They do so from their delivery functions over SMTP to its ingress
 * on 587 (Lambda cannot connect to port 25), so such a gateway listens on 587 whatever its mode.
 */
export function isBackboneTarget(config: Config, gw: Gateway): boolean {
  const spaces = (config as { addressSpaces?: readonly { gateway: string }[] }).addressSpaces;
  return (spaces ?? []).some((space) => space.gateway.toLowerCase() === gw.id.toLowerCase());
}

/** CloudFormation stack names start with a letter; config prefixes may start with a digit. */
export function stackName(config: Config, part: string): string {
  return `Mailbag-${config.prefix}-${part}`;
}
