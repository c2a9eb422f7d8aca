/**
 * Least privilege, proven both ways, offline. Every AWS call the deployed parts (ingress, router,
 * delivery, push, intake, and a postoffice's `mailbag fetch`/`submit`) made during the test
 * suites was recorded by the SDK middleware of functions/shared/aws-calls.ts
 * (MAILBAG_RECORD_AWS_CALLS): part, gateway, IAM action and resource ARN. Here each is evaluated
 * with @cloud-copilot/iam-simulate against the identity policy that part is deployed with, in the
 * synthesized template of a gateway of the same mode; the test fails on any call the policy would
 * deny, and on any granted action no recorded call used unless UNUSED below says why it is
 * granted anyway.
 *
 * In CI (.ci/run) `npm test` records into MAILBAG_RECORD_AWS_CALLS and the next step runs this
 * test over that record (the file must then exist: the suites are not run twice). Without the
 * variable, `npm run test:iam` runs the SMTP and integration suites itself with recording on.
 *
 * Only identity policies are simulated: the bucket and queue policies deny nothing but
 * non-TLS requests (enforceSSL), and every principal is in the bucket's own account.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { Template } from "aws-cdk-lib/assertions";
import { type GatewayMode, parseConfig } from "../../core/config.ts";
import { gatewayResources } from "../../core/names.ts";
import { SIMULATED_ACCOUNT, SIMULATED_REGION } from "../../functions/shared/iam-actions.ts";
import { REPO_ROOT } from "../../infra/config.ts";
import { deployOf, synthConfig } from "../infra/helpers.ts";

/** Part (aws-calls.ts) → the role its deployed code runs as (logical id prefix). */
const ROLES: Record<string, string> = {
  ingress: "IngressTaskTaskRole",
  route: "RouterRole",
  deliver: "DeliverRole",
  push: "PostofficesPushRole",
  intake: "PostofficesIntakeRole",
};

/**
 * A postoffice's own agent runs as the principal its managed policy is attached to
 * (infra/constructs/postoffice-exchange.ts): per gateway mode, the canonical postoffice it
 * stands for.
 */
const POSTOFFICE_PARTS: Record<string, Partial<Record<GatewayMode, string>>> = {
  fetch: { both: "ENG", receive: "SALES" },
  submit: { both: "ENG", send: "SALES" },
};
/** The canonical pushed postoffice of a gateway mode: whose inbound mailbag its push reads. */
const PUSHED: Partial<Record<GatewayMode, string>> = { both: "HQ", receive: "OPS" };

/**
 * Parts and calls that exist locally but whose AWS resources another issue is still adding:
 * their denials are reported, not failed. Once a pending call is allowed the test says the entry
 * is obsolete (remove it then, so the call is checked like every other).
 */
const PENDING: { part?: string; resource?: RegExp; why: string }[] = [];

/**
 * Granted but not used by any recorded call, and why each is granted anyway. `part` is a part
 * of ROLES, `postoffice` (a postoffice's managed policy, fetch and submit together) or `*`.
 */
const UNUSED: { part: string; action: string; resource: RegExp; why: string }[] = [
  {
    part: "*",
    action: "s3:GetObject",
    resource: /:s3:::directory-bucket\/directory\/\*$/,
    why: "the deployed parts load the directory from S3 (MAILBAG_DIRECTORY); the suites hand the config in directly",
  },
  {
    part: "*",
    action: "s3:ListBucket",
    resource: /:s3:::canon-[a-z]+$/,
    why: "not called: it makes a GetObject of a missing envelope or status a 404 instead of a 403 (S3 only says 404 to principals that may list)",
  },
  {
    part: "*",
    action: "s3:AbortMultipartUpload",
    resource: /\/(messages|outbound\/[A-Z]+)\/\*$/,
    why: "only when an upload over 5 MiB (a DATA stream, a report quoting a large original, a submitted file) fails mid-stream: the multipart upload is cleaned up",
  },
  {
    part: "*",
    action: "s3:DeleteObject",
    resource: /\/messages\/\*$/,
    why: "the accept path (ingress, intake, reports) removes what it wrote when it fails before the route job is queued (core/accept.ts)",
  },
  {
    part: "*",
    action: "logs:CreateLogStream",
    resource: /./,
    why: "the Lambda runtime writes the function's logs, not the function's SDK",
  },
  {
    part: "*",
    action: "logs:PutLogEvents",
    resource: /./,
    why: "the Lambda runtime writes the function's logs, not the function's SDK",
  },
  {
    part: "*",
    action: "sqs:GetQueueAttributes",
    resource: /:sqs:/,
    why: "part of CDK's grantSendMessages/grantConsumeMessages; the event source mapping reads the queue's attributes",
  },
  {
    part: "*",
    action: "sqs:GetQueueUrl",
    resource: /:sqs:/,
    why: "part of CDK's grantSendMessages/grantConsumeMessages; the code resolves each queue URL once per process, the suites' runner before any part runs",
  },
  {
    part: "*",
    action: "sqs:ChangeMessageVisibility",
    resource: /:sqs:/,
    why: "Lambda's event source mapping returns failed records with it (the suites' runner lets them time out); the delivery line's hold uses it when a next hop is unreachable",
  },
  {
    part: "*",
    action: "sqs:SendMessage",
    resource: /-dlq(\.fifo)?$/,
    why: "a function dead-letters a failing job itself (functions/shared/middleware.ts settleFailure); the suites poison only some lines",
  },
  {
    part: "route",
    action: "s3:PutObject",
    resource: /\/messages\/\*$/,
    why: "a recipient accepted at RCPT and refused at routing (the directory changed in between; core/route-message.ts recordRefused): its status record and the report to its sender",
  },
  {
    part: "route",
    action: "sqs:SendMessage",
    resource: /-route\.fifo$/,
    why: "the report (bounce) about a recipient refused at routing enters through the accept path",
  },
  {
    part: "*",
    action: "sqs:SendMessage",
    resource: /-(push\.fifo|retry)$/,
    why: "push deliveries deferred with a 4xx: the push function schedules them into the retry line, the delivery function puts them back into the push line when due",
  },
  {
    part: "push",
    action: "sqs:DeleteMessage",
    resource: /-retry$/,
    why: "on a gateway that does not send, the push function consumes the retry line; the suites defer push mail on gateways of mode both, where the delivery function consumes it",
  },
  {
    part: "intake",
    action: "sqs:ReceiveMessage",
    resource: /-intake$/,
    why: "Lambda's event source mapping on the S3 notification queue; the emulator sends no S3 notifications, so locally a poller lists the outbound mailbags",
  },
  {
    part: "intake",
    action: "sqs:DeleteMessage",
    resource: /-intake$/,
    why: "Lambda's event source mapping on the S3 notification queue; the emulator sends no S3 notifications, so locally a poller lists the outbound mailbags",
  },
  {
    part: "postoffice",
    action: "sqs:ReceiveMessage",
    resource: /:canon-po-[a-z]+$/,
    why: "`mailbag fetch` without --once waits on its notification queue; the emulator sends no S3 notifications, so locally it polls",
  },
  {
    part: "postoffice",
    action: "sqs:DeleteMessage",
    resource: /:canon-po-[a-z]+$/,
    why: "`mailbag fetch` without --once waits on its notification queue; the emulator sends no S3 notifications, so locally it polls",
  },
];

/** One gateway per mode: the policy a recorded gateway of that mode is deployed with. */
const CANONICAL: Record<GatewayMode, string> = { both: "BOTH", send: "SEND", receive: "RECV" };

interface Request {
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string>>;
}
interface Call {
  readonly part: string;
  readonly gateway?: string;
  readonly postoffice?: string;
  readonly call: string;
  readonly requests: Request[];
}
interface Network {
  readonly prefix: string;
  readonly gateways: { id: string; mode: GatewayMode }[];
}

function recordedCalls(): { calls: Call[]; networks: Network[] } {
  let file = process.env.MAILBAG_RECORD_AWS_CALLS;
  if (file) {
    // CI: the record of the suites that just ran; never run them a second time.
    assert.ok(existsSync(file) && statSync(file).size > 0, `no calls recorded in ${file}`);
  } else {
    file = join(mkdtempSync(join(tmpdir(), "mailbag-iam-")), "calls.jsonl");
    // A test file's child `node --test` would skip its files (it sees NODE_TEST_CONTEXT).
    const { NODE_TEST_CONTEXT: _inTest, ...env } = process.env;
    // Their own failures are theirs to report; what they called until then is simulated here.
    spawnSync(
      process.execPath,
      [
        "--test",
        "--test-concurrency=1",
        "--test-reporter=dot",
        "test/smtp/**/*.test.ts",
        "test/integration/**/*.test.ts",
      ],
      {
        cwd: REPO_ROOT,
        env: { ...env, MAILBAG_LOG: "silent", MAILBAG_RECORD_AWS_CALLS: file },
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
  }
  const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
  const calls: Call[] = [];
  const networks: Network[] = [];
  for (const line of lines) {
    const json = JSON.parse(line);
    if (json.network) networks.push(json.network);
    else calls.push(json);
  }
  return { calls, networks };
}

/**
 * The canonical layout: one gateway per mode, SMTP smart host, every optional part on: BOTH
 * pushes HQ and keeps ENG's mail for pickup, SEND sends for SALES, RECV keeps SALES's mail for
 * pickup and pushes OPS (so a receive gateway's push function consumes its retry line).
 */
function canonicalTemplates(): ReadonlyMap<string, Template> {
  const raw = JSON.parse(readFileSync(join(REPO_ROOT, "mailbag.config.json"), "utf8"));
  raw.prefix = "canon";
  const pushed = (domain: string) => ({ deliver: `smtp://po.${domain}:587` });
  raw.postoffices = [
    { id: "HQ", domain: "hq.company.test", inbound: pushed("hq.company.test") },
    { id: "ENG", domain: "eng.company.test" },
    { id: "SALES", domain: "sales.company.test" },
    { id: "OPS", domain: "ops.company.test", inbound: pushed("ops.company.test") },
  ];
  raw.gateways = [
    { id: "BOTH", mode: "both", postoffices: ["HQ", "ENG"], hostname: "both.company.test" },
    { id: "SEND", mode: "send", postoffices: ["SALES"], hostname: "send.company.test" },
    { id: "RECV", mode: "receive", postoffices: ["SALES", "OPS"], hostname: "recv.company.test" },
  ];
  raw.smartHost = { url: "smtp://relay.company.test:587" };
  delete raw.addressSpaces;
  parseConfig(raw); // the canonical config is itself valid
  return synthConfig(deployOf(raw), { nag: false }).gateways;
}

type Json = unknown;

/** CloudFormation intrinsics of an IAM policy → concrete ARNs (canonical names, fixed account). */
function resolver(template: Template, gateway: string) {
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, Json> }
  >;
  const names = gatewayResources("canon", gateway);
  const resolve = (v: Json): Json => {
    if (typeof v === "string" || typeof v !== "object" || v === null) return v;
    if (Array.isArray(v)) return v.map(resolve);
    const o = v as Record<string, Json>;
    if (o.Ref !== undefined) {
      const ref = o.Ref as string;
      if (ref === "AWS::Partition") return "aws";
      if (ref === "AWS::Region") return SIMULATED_REGION;
      if (ref === "AWS::AccountId") return SIMULATED_ACCOUNT;
      if (ref === "AWS::URLSuffix") return "amazonaws.com";
      if (resources[ref]?.Type === "AWS::S3::Bucket") return names.bucket;
      return `unresolved-ref-${ref}`;
    }
    if (o["Fn::GetAtt"]) {
      const [id, attr] = o["Fn::GetAtt"] as [string, string];
      const r = resources[id];
      if (r?.Type === "AWS::S3::Bucket" && attr === "Arn") return `arn:aws:s3:::${names.bucket}`;
      if (r?.Type === "AWS::SQS::Queue" && attr === "Arn")
        return `arn:aws:sqs:${SIMULATED_REGION}:${SIMULATED_ACCOUNT}:${r.Properties.QueueName}`;
      if (r?.Type === "AWS::Logs::LogGroup" && attr === "Arn")
        return `arn:aws:logs:${SIMULATED_REGION}:${SIMULATED_ACCOUNT}:log-group:${id}:*`;
      return `unresolved-getatt-${id}.${attr}`;
    }
    if (o["Fn::ImportValue"]) return "directory-bucket";
    if (o["Fn::Join"]) {
      const [sep, parts] = o["Fn::Join"] as [string, Json[]];
      return parts.map(resolve).join(sep);
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolve(x)]));
  };
  return resolve;
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}

/** The statements of the inline policies of the role whose logical id starts with `rolePrefix`. */
function rolePolicy(template: Template, gateway: string, rolePrefix: string): Statement[] {
  const resolve = resolver(template, gateway);
  return Object.values(template.findResources("AWS::IAM::Policy"))
    .filter((p) =>
      (p as { Properties: { Roles: { Ref: string }[] } }).Properties.Roles.some((r) =>
        r.Ref.startsWith(rolePrefix),
      ),
    )
    .flatMap(
      (p) =>
        resolve(
          (p as { Properties: { PolicyDocument: { Statement: Json[] } } }).Properties.PolicyDocument
            .Statement,
        ) as Statement[],
    );
}

/** The statements of a postoffice's managed policy on a gateway. */
function postofficePolicy(template: Template, gateway: string, postoffice: string): Statement[] {
  const resolve = resolver(template, gateway);
  const [policy] = Object.entries(template.findResources("AWS::IAM::ManagedPolicy"))
    .filter(([id]) => id.startsWith(`PostofficesPostofficePolicy${postoffice}`))
    .map(([, p]) => p as { Properties: { PolicyDocument: { Statement: Json[] } } });
  return policy ? (resolve(policy.Properties.PolicyDocument.Statement) as Statement[]) : [];
}

const list = <T>(x: T | T[]) => (Array.isArray(x) ? x : [x]);
const glob = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  ).test(value);

/** Who made a call on AWS: the policy, in the canonical gateway of the caller's mode. */
interface Principal {
  readonly key: string;
  readonly canonical: string;
  readonly policy: Statement[];
  /** A recorded resource (or s3:prefix) in the canonical layout's names. */
  readonly rename: (s: string) => string;
}

test("IAM simulation: every AWS call of the suites is allowed by its part's deployed policy; no unexplained grant", async (t) => {
  const { calls, networks } = recordedCalls();
  const templates = canonicalTemplates();

  const deployedParts = calls.filter((c) => c.part !== "other");
  assert.ok(deployedParts.length > 100, `only ${deployedParts.length} calls recorded`);

  /** The network a call belongs to: the one with its gateway whose resources it names. */
  const networkOf = (call: Call, resource: string) => {
    for (const n of networks) {
      const gw = n.gateways.find((g) => g.id === call.gateway);
      if (!gw) continue;
      const base = `${n.prefix}-${gw.id.toLowerCase()}`;
      const names = [`:::${base}/`, `:::${base}`, `:${base}-`, `:${n.prefix}-po-`];
      if (names.some((x) => resource.includes(x) && (x !== `:::${base}` || resource.endsWith(x))))
        return { prefix: n.prefix, base, mode: gw.mode };
    }
    return undefined;
  };

  const principalOf = (call: Call, resource: string): Principal | string => {
    const net = networkOf(call, resource);
    const canonical = CANONICAL[net?.mode ?? "both"];
    const template = templates.get(canonical);
    assert.ok(template);
    const canonBase = gatewayResources("canon", canonical).bucket;
    const byId = (s: string) =>
      net
        ? s.replace(`:::${net.base}`, `:::${canonBase}`).replace(`:${net.base}-`, `:${canonBase}-`)
        : s;
    const asPo = POSTOFFICE_PARTS[call.part];
    if (asPo) {
      const po = asPo[net?.mode ?? "both"];
      if (!po || !call.postoffice) return `${call.part} of ${call.postoffice} on a ${net?.mode}`;
      const from = call.postoffice;
      const rename = (s: string) =>
        byId(s)
          .replace(`/${from}/`, `/${po}/`)
          .replace(/^(inbound|outbound)\/[^/]+\//, `$1/${po}/`)
          .replace(`:${net?.prefix}-po-${from.toLowerCase()}`, `:canon-po-${po.toLowerCase()}`);
      return {
        key: `postoffice:${po}/${canonical}`,
        canonical,
        policy: postofficePolicy(template, canonical, po),
        rename,
      };
    }
    const rolePrefix = ROLES[call.part];
    if (!rolePrefix) return `part ${call.part} has no deployed role: add it to ROLES`;
    const pushed = PUSHED[net?.mode ?? "both"];
    return {
      key: `${call.part}/${canonical}`,
      canonical,
      policy: rolePolicy(template, canonical, rolePrefix),
      // Push reads its pushed postoffices' inbound mailbags: the canonical one stands for them.
      rename: (s) =>
        call.part === "push" && pushed
          ? byId(s).replace(/\/inbound\/[^/]+\//, `/inbound/${pushed}/`)
          : byId(s),
    };
  };

  const denied: string[] = [];
  const pendingSeen = new Set<string>();
  const obsolete = new Set<string>();
  // A grant counts as used when the part used it in a gateway of any mode: the suites' send and
  // receive gateways relay a message or two, those of mode both run every path.
  const used = new Map<string, Set<string>>(); // part → "action resourcePattern" (any mode)
  const partOf = (key: string) => key.split("/")[0] as string;
  const pushedInbound = new RegExp(`/inbound/(${Object.values(PUSHED).join("|")})/`);
  const anyMode = (grant: string) =>
    grant.replace(/canon-(both|send|recv)\b/g, "canon-*").replace(pushedInbound, "/inbound/*/");
  const exercised = new Map<string, Principal>();
  const seen = new Set<string>();
  for (const call of deployedParts) {
    for (const req of call.requests) {
      const principal = principalOf(call, req.resource);
      // Message ids in object keys: one id stands for all (policies match key prefixes and
      // suffixes, never ids), so the suites' thousands of messages are a few simulations.
      const rename = (s: string) =>
        typeof principal === "string"
          ? s
          : principal.rename(s).replace(/^(arn:aws:s3:::[^/]+\/.*?)[0-9A-Za-z]{16,}/, "$1MSGID");
      const resource = rename(req.resource);
      const context = Object.fromEntries(
        Object.entries(req.context ?? {}).map(([k, v]) => [
          k,
          rename(`arn:aws:s3:::x/${v}`).replace("arn:aws:s3:::x/", ""),
        ]),
      );
      const pending = PENDING.find(
        (p) =>
          (p.part === undefined || p.part === call.part) &&
          (p.resource === undefined || p.resource.test(resource)),
      );
      const who = typeof principal === "string" ? call.part : principal.key;
      const key = `${who} ${req.action} ${resource}${req.context ? ` ${JSON.stringify(context)}` : ""}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (typeof principal === "string") {
        if (pending) pendingSeen.add(pending.why);
        else denied.push(`${key}: ${principal}`);
        continue;
      }
      exercised.set(principal.key, principal);
      const result = await runSimulation(
        {
          request: {
            principal: `arn:aws:iam::${SIMULATED_ACCOUNT}:role/${principal.key.replace(/[/:]/g, "-")}`,
            action: req.action,
            resource: { resource, accountId: SIMULATED_ACCOUNT },
            contextVariables: context,
          },
          identityPolicies: [
            { name: "deployed", policy: { Version: "2012-10-17", Statement: principal.policy } },
          ],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
        },
        {},
      );
      assert.notEqual(result.resultType, "error", JSON.stringify(result));
      const allowed = result.resultType !== "error" && result.overallResult === "Allowed";
      if (pending && !allowed) {
        pendingSeen.add(pending.why);
        continue;
      }
      if (pending) obsolete.add(pending.why);
      if (!allowed) denied.push(`${key} (${call.call})`);
      const u = used.get(partOf(principal.key)) ?? new Set<string>();
      for (const s of principal.policy)
        for (const a of list(s.Action))
          for (const r of list(s.Resource))
            if (a === req.action && glob(r, resource)) u.add(anyMode(`${a} ${r}`));
      used.set(partOf(principal.key), u);
    }
  }
  t.diagnostic(
    `${deployedParts.length} calls recorded, ${seen.size} distinct simulated, ${denied.length} denied`,
  );
  t.diagnostic(`principals exercised: ${[...exercised.keys()].sort().join(", ")}`);
  assert.deepEqual(denied, [], `calls the deployed policies deny:\n${denied.join("\n")}`);

  // Granted but unused, for every principal the suites exercised.
  const unexplained: string[] = [];
  const report: string[] = [];
  for (const [key, principal] of [...exercised].sort()) {
    const part = key.split(/[/:]/)[0] as string;
    for (const s of principal.policy) {
      for (const a of list(s.Action)) {
        for (const r of list(s.Resource)) {
          if (used.get(partOf(key))?.has(anyMode(`${a} ${r}`))) continue;
          const why = UNUSED.find(
            (u) => (u.part === "*" || u.part === part) && u.action === a && u.resource.test(r),
          );
          if (why) report.push(`${key}: ${a} on ${r}: ${why.why}`);
          else unexplained.push(`${key}: ${a} on ${r}`);
        }
      }
    }
  }
  for (const line of report) t.diagnostic(`unused, justified: ${line}`);
  for (const why of pendingSeen) t.diagnostic(`pending: ${why}`);
  for (const why of obsolete) t.diagnostic(`PENDING entry no longer needed (allowed now): ${why}`);
  t.diagnostic(`unused grants not justified: ${unexplained.length}`);
  assert.deepEqual(
    unexplained,
    [],
    `granted, never used, not justified in UNUSED:\n${unexplained.join("\n")}`,
  );
});
