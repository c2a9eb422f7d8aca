/**
 * Optional DNS (aws.dns): an MX record for every postoffice domain this gateway receives for,
 * in the configured hosted zone that contains it, pointing at the gateway's host name (an alias
 * A record to the load balancer, when that name is in a zone too) or else at the load
 * balancer's own DNS name. Domains in no configured zone are left to `mailbag dns`.
 */
import { Annotations, Duration } from "aws-cdk-lib";
import type * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as route53 from "aws-cdk-lib/aws-route53";
import * as targets from "aws-cdk-lib/aws-route53-targets";
import { Construct } from "constructs";
import { gatewayCapabilities } from "../../core/capabilities.ts";
import type { Config, Gateway } from "../../core/config.ts";
import type { AwsSection } from "../../core/config-aws.ts";
import { servingGateways } from "../../core/config-rules.ts";

type Dns = NonNullable<AwsSection["dns"]>;

export class MxRecords extends Construct {
  constructor(
    scope: Construct,
    id: string,
    dns: Dns,
    config: Config,
    gw: Gateway,
    loadBalancer: elbv2.INetworkLoadBalancer,
  ) {
    super(scope, id);
    const zones = new Map<string, route53.IHostedZone>();
    const zoneOf = (domain: string) => {
      const z = dns.zones
        .filter((zone) => domain === zone.name || domain.endsWith(`.${zone.name}`))
        .sort((a, b) => b.name.length - a.name.length)[0];
      if (!z) return undefined;
      let zone = zones.get(z.id);
      if (!zone) {
        zone = route53.HostedZone.fromHostedZoneAttributes(this, `Zone-${z.id}`, {
          hostedZoneId: z.id,
          zoneName: z.name,
        });
        zones.set(z.id, zone);
      }
      return zone;
    };
    const ttl = Duration.seconds(dns.ttlSeconds);
    let mxTarget = loadBalancer.loadBalancerDnsName;
    const hostZone = gw.hostname ? zoneOf(gw.hostname) : undefined;
    if (gw.hostname && hostZone) {
      new route53.ARecord(this, "Host", {
        zone: hostZone,
        recordName: `${gw.hostname}.`,
        target: route53.RecordTarget.fromAlias(new targets.LoadBalancerTarget(loadBalancer)),
      });
      mxTarget = gw.hostname;
    }
    if (!gatewayCapabilities(gw).receives) return;
    // Every postoffice this gateway receives for, hub-only downstream postoffices included.
    const receivedHere = [...servingGateways(config).receive].filter(([, g]) => g === gw.id);
    for (const [id] of receivedHere) {
      const domain = config.postoffices.find((po) => po.id === id)?.domain;
      const zone = domain ? zoneOf(domain) : undefined;
      if (!domain || !zone) {
        Annotations.of(this).addWarningV2(
          "mailbag:dns:no-zone",
          `no aws.dns zone contains ${domain}: publish its MX with \`mailbag dns\``,
        );
        continue;
      }
      new route53.MxRecord(this, `Mx-${id}`, {
        zone,
        recordName: `${domain}.`,
        values: [{ priority: 10, hostName: mxTarget }],
        ttl,
      });
    }
  }
}
