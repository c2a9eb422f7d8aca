/**
 * Partial batch responses for SQS FIFO event sources. A FIFO group must stay in order, so at
 * the first failed record we stop and report it and every record after it as failed: Lambda
 * then deletes only the processed ones and the group is retried from the failed record on
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting).
 */
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";

export async function processFifoBatch(
  records: readonly SQSRecord[],
  processRecord: (record: SQSRecord) => Promise<void>,
  onFailure: (record: SQSRecord, err: unknown) => void,
): Promise<SQSBatchResponse> {
  for (const [i, record] of records.entries()) {
    try {
      await processRecord(record);
    } catch (err) {
      onFailure(record, err);
      return { batchItemFailures: records.slice(i).map((r) => ({ itemIdentifier: r.messageId })) };
    }
  }
  return { batchItemFailures: [] };
}
