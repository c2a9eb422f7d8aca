/** Names the CDK app adds to core/names.ts: the directory bucket and object, stack-wide. */
import type { DeployConfig } from "./config.ts";

/** The directory object's bucket (`<prefix>-directory`) and content-addressed key. */
export function directoryObject(deploy: DeployConfig): { bucket: string; key: string } {
  return { bucket: `${deploy.config.prefix}-directory`, key: `directory/${deploy.hash}.json` };
}

export function directoryUrl(deploy: DeployConfig): string {
  const { bucket, key } = directoryObject(deploy);
  return `s3://${bucket}/${key}`;
}
