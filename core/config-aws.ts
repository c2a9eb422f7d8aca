/**
 * The `aws` section of the config: what only the CDK app reads (deployment settings). Kept in
 * its own file so the infrastructure can grow without touching the gateway's own schema.
 */
import { z } from "zod";

export const awsSection = z.strictObject({
  /** Target account and region of every stack; omitted: the CDK CLI's environment. */
  account: z.string().regex(/^\d{12}$/, "a 12-digit AWS account id").optional(),
  region: z.string().optional(),
});

export type AwsSection = z.output<typeof awsSection>;
