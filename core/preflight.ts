/**
 * The deploy preflight (`mailbag check --deploy`, and every `cdk synth`/`cdk deploy` of
 * infra/app.ts): what a config would make fail on AWS although it validates, one line per
 * problem, each naming the field. Pure: the config in, the problems out.
 */
import type { Config } from "./config.ts";
import { type AwsSection, awsSettings } from "./config-aws.ts";

/** Account ids AWS documentation uses as examples: never a real deployment target. */
const EXAMPLE_ACCOUNTS = new Set([
  "000000000000",
  "111111111111",
  "111122223333",
  "123456789012",
  "444455556666",
  "999999999999",
]);

export function deployProblems(config: Config): string[] {
  const aws: AwsSection = awsSettings(config.aws);
  const problems: string[] = [];
  const problem = (field: string, text: string) => problems.push(`${field}: ${text}`);

  // Lambda blocks TCP port 25 as an anti-spam measure (https://aws.amazon.com/lambda/faqs/,
  // "TCP port 25 traffic is also blocked"): every delivery would time out into the DLQ.
  const sh = config.smartHost;
  if ("url" in sh && smtpPort(sh.url) === 25)
    problem(
      "smartHost.url",
      "port 25: the delivery function (Lambda) cannot connect to port 25; use the relay's submission port (smtp://host:587 or smtps://host:465) or SES",
    );
  config.gateways.forEach((gw, i) => {
    if (gw.ingressUrl && smtpPort(gw.ingressUrl) === 25)
      problem(
        `gateways[${i}].ingressUrl`,
        "port 25: other gateways' delivery functions (Lambda) cannot connect to port 25; use 587",
      );
  });

  if (aws.account && EXAMPLE_ACCOUNTS.has(aws.account))
    problem("aws.account", `${aws.account} is an example account id from the AWS documentation`);
  aws.dns?.zones.forEach((zone, i) => {
    if (/EXAMPLE/i.test(zone.id))
      problem(`aws.dns.zones[${i}].id`, `${zone.id} is a placeholder hosted zone id`);
  });

  const topic = aws.alarms.topicArn;
  if (topic) {
    const [, , , region, account] = topic.split(":");
    if (account && EXAMPLE_ACCOUNTS.has(account))
      problem("aws.alarms.topicArn", `${account} is an example account id`);
    else if (aws.account && account !== aws.account)
      problem("aws.alarms.topicArn", `in account ${account}, not aws.account ${aws.account}`);
    // CloudWatch alarm actions notify topics of the alarm's own region.
    if (aws.region && region !== aws.region)
      problem("aws.alarms.topicArn", `in region ${region}, not aws.region ${aws.region}`);
  } else if (!aws.alarms.email) {
    problem(
      "aws.alarms",
      "no topicArn and no email: every alarm would notify a topic nobody subscribes to",
    );
  }

  if (!aws.ingress.tlsSecret)
    problem(
      "aws.ingress.tlsSecret",
      "no STARTTLS certificate: SMTP AUTH and submission would go in clear text; see docs/deploy.md#tls",
    );
  return problems;
}

function smtpPort(url: string): number {
  const u = new URL(url);
  if (u.port) return Number(u.port);
  return u.protocol === "smtps:" ? 465 : 25;
}
