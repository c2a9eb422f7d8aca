/**
 * A layout (seed Q132060) is just the config's gateways: one GatewayStack each plus the shared
 * DirectoryStack (and, with `aws.sharedVpc`, one NetworkStack). single = one `both` gateway;
 * multiple = N `both` gateways; dedicated = a `send` and a `receive` gateway; multiple dedicated
 * = N such pairs. The AwsSolutions cdk-nag pack runs over everything.
 */
import { type App, type Environment, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { type DeployConfig, stackName } from "./config.ts";
import { NetworkDashboard } from "./constructs/dashboards.ts";
import { DirectoryStack } from "./directory-stack.ts";
import { GatewayStack } from "./gateway-stack.ts";
import { NetworkStack } from "./network-stack.ts";

export interface Layout {
  readonly directory: DirectoryStack;
  readonly network: NetworkStack | undefined;
  readonly gateways: ReadonlyMap<string, GatewayStack>;
}

export function defineLayout(app: App, deploy: DeployConfig, opts: { nag?: boolean } = {}): Layout {
  const { config, aws } = deploy;
  const env: Environment = {
    ...(aws.account ? { account: aws.account } : {}),
    ...(aws.region ? { region: aws.region } : {}),
  };
  const tags = { "mailbag:network": config.network, "mailbag:prefix": config.prefix };
  const directory = new DirectoryStack(app, stackName(config, "directory"), deploy, {
    env,
    tags,
    description: `Mailbag ${config.network}: the directory (address map) every gateway reads`,
  });
  new NetworkDashboard(directory, "Overview", config);
  const network = aws.sharedVpc
    ? new NetworkStack(app, stackName(config, "network"), aws.functions.logRetentionDays, {
        env,
        tags,
        description: `Mailbag ${config.network}: the VPC every gateway's ingress runs in`,
      })
    : undefined;
  const gateways = new Map<string, GatewayStack>();
  for (const gw of config.gateways) {
    const stack = new GatewayStack(app, stackName(config, gw.id), {
      env,
      tags: { ...tags, "mailbag:gateway": gw.id },
      description: `Mailbag ${config.network}: gateway ${gw.id} (${gw.mode}) for ${gw.postoffices.join(", ")}`,
      deploy,
      gateway: gw,
      directoryStackName: directory.stackName,
      vpc: network?.vpc,
    });
    stack.addStackDependency(directory);
    gateways.set(gw.id, stack);
  }
  if (opts.nag ?? true)
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { directory, network, gateways };
}
