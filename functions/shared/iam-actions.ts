/**
 * The IAM authorization an SDK call needs: action and resource ARN, for the calls the gateway's
 * parts make (S3, SQS, SES). Used only to record calls for the offline IAM simulation
 * (aws-calls.ts); an operation missing here records as `unknown:<Service>.<Op>`, which the
 * simulation reports as denied, so a new kind of call cannot slip past it.
 * Actions: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html,
 * .../list_amazonsqs.html, .../list_amazonses.html. Account and region are fixed placeholders
 * (000000000000, us-east-1): the simulation resolves the templates with the same ones.
 */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys the request carries (s3:prefix of a listing). */
  readonly context?: Readonly<Record<string, string>>;
}

export const SIMULATED_ACCOUNT = "000000000000";
export const SIMULATED_REGION = "us-east-1";

const object = (bucket: unknown, key: unknown) => `arn:aws:s3:::${bucket}/${key}`;

/** SQS queue URLs end in /<account>/<name> on AWS, LocalStack and fauxqs alike. */
export function queueArnOf(queueUrl: unknown): string {
  const name = String(queueUrl).split("/").filter(Boolean).pop();
  return `arn:aws:sqs:${SIMULATED_REGION}:${SIMULATED_ACCOUNT}:${name}`;
}

const queueByName = (name: unknown) =>
  `arn:aws:sqs:${SIMULATED_REGION}:${SIMULATED_ACCOUNT}:${name}`;

export function iamRequests(
  service: string,
  op: string,
  input: Record<string, unknown>,
): IamRequest[] {
  const b = input.Bucket;
  const s3: Record<string, () => IamRequest[]> = {
    GetObject: () => [{ action: "s3:GetObject", resource: object(b, input.Key) }],
    HeadObject: () => [{ action: "s3:GetObject", resource: object(b, input.Key) }],
    PutObject: () => [{ action: "s3:PutObject", resource: object(b, input.Key) }],
    CreateMultipartUpload: () => [{ action: "s3:PutObject", resource: object(b, input.Key) }],
    UploadPart: () => [{ action: "s3:PutObject", resource: object(b, input.Key) }],
    CompleteMultipartUpload: () => [{ action: "s3:PutObject", resource: object(b, input.Key) }],
    AbortMultipartUpload: () => [
      { action: "s3:AbortMultipartUpload", resource: object(b, input.Key) },
    ],
    DeleteObject: () => [{ action: "s3:DeleteObject", resource: object(b, input.Key) }],
    DeleteObjects: () =>
      ((input.Delete as { Objects?: { Key: string }[] })?.Objects ?? []).map((o) => ({
        action: "s3:DeleteObject",
        resource: object(b, o.Key),
      })),
    // CopySource is "bucket/key" (URL-encoded): read there, write here.
    CopyObject: () => [
      {
        action: "s3:GetObject",
        resource: `arn:aws:s3:::${decodeURIComponent(String(input.CopySource).replace(/^\//, ""))}`,
      },
      { action: "s3:PutObject", resource: object(b, input.Key) },
    ],
    ListObjectsV2: () => [
      {
        action: "s3:ListBucket",
        resource: `arn:aws:s3:::${b}`,
        context: { "s3:prefix": String(input.Prefix ?? "") },
      },
    ],
    CreateBucket: () => [{ action: "s3:CreateBucket", resource: `arn:aws:s3:::${b}` }],
  };
  const q = () => queueArnOf(input.QueueUrl);
  const sqs: Record<string, () => IamRequest[]> = {
    SendMessage: () => [{ action: "sqs:SendMessage", resource: q() }],
    SendMessageBatch: () => [{ action: "sqs:SendMessage", resource: q() }],
    ReceiveMessage: () => [{ action: "sqs:ReceiveMessage", resource: q() }],
    DeleteMessage: () => [{ action: "sqs:DeleteMessage", resource: q() }],
    DeleteMessageBatch: () => [{ action: "sqs:DeleteMessage", resource: q() }],
    ChangeMessageVisibility: () => [{ action: "sqs:ChangeMessageVisibility", resource: q() }],
    ChangeMessageVisibilityBatch: () => [{ action: "sqs:ChangeMessageVisibility", resource: q() }],
    GetQueueAttributes: () => [{ action: "sqs:GetQueueAttributes", resource: q() }],
    GetQueueUrl: () => [{ action: "sqs:GetQueueUrl", resource: queueByName(input.QueueName) }],
    CreateQueue: () => [{ action: "sqs:CreateQueue", resource: queueByName(input.QueueName) }],
  };
  const ses: Record<string, () => IamRequest[]> = {
    // SES authorizes the sending identity: the domain of the envelope sender.
    SendRawEmail: () => [
      {
        action: "ses:SendRawEmail",
        resource: `arn:aws:ses:${SIMULATED_REGION}:${SIMULATED_ACCOUNT}:identity/${String(input.Source ?? "").replace(/^.*@/, "")}`,
      },
    ],
  };
  const table = ({ S3: s3, SQS: sqs, SES: ses } as Record<string, typeof s3>)[service];
  const mapped = table?.[op];
  return mapped ? mapped() : [{ action: `unknown:${service}.${op}`, resource: "*" }];
}
