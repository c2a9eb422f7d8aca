/**
 * Partial batch responses for SQS FIFO event sources. A FIFO group must stay in order, so at
 * the first failed record of a group we stop that group and report it and every later record
 * of the same group as failed: Lambda then deletes only the processed ones and the group is
 * retried from the failed record on
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting).
 * Other groups in the batch go on: one batch may hold several groups (the push queue has one
 * per postoffice), and one postoffice's server being down must not hold up another's mail.
 */
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";

export async function processFifoBatch(
  records: readonly SQSRecord[],
  processRecord: (record: SQSRecord) => Promise<void>,
  onFailure: (record: SQSRecord, err: unknown) => void,
): Promise<SQSBatchResponse> {
  const stopped = new Set<string | undefined>();
  const failures: SQSBatchResponse["batchItemFailures"] = [];
  for (const record of records) {
    const group = record.attributes?.MessageGroupId;
    if (stopped.has(group)) {
      failures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      await processRecord(record);
    } catch (err) {
      onFailure(record, err);
      stopped.add(group);
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}
