/**
 * Partial batch responses for SQS FIFO event sources. A FIFO group must stay in order, so at
 * the first failed record of a group we stop that group and report it and every later record
 * of the same group as failed: Lambda then deletes only the processed ones and the group is
 * retried from the failed record on
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting).
 * Other groups in the batch go on: one batch may hold several groups (the push queue has one
 * per postoffice), and one postoffice's server being down must not hold up another's mail.
 *
 * Pipelined: `ahead.prepare` starts every record's reads before the first is processed, and a
 * record's processing may hand back a `durable` promise (its outcome being stored) instead of
 * waiting for it, so storing overlaps the next record. A record counts as processed (deleted
 * from the queue) only once its `durable` settled; if it rejects, that record and every later
 * one of its group are reported failed, as for a failure in processing.
 */
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";

/** What processing a record may hand back: its outcome, still being stored. */
export interface Processed {
  readonly durable: Promise<void>;
}

/** Reads started for every record of a batch before the first one is processed. */
export interface ReadAhead<P> {
  prepare(record: SQSRecord): P;
  /** Releases what `prepare` opened, for a record that is not processed in this batch. */
  discard(prepared: P): void;
}

export async function processFifoBatch<P = undefined>(
  records: readonly SQSRecord[],
  processRecord: (record: SQSRecord, prepared: P | undefined) => Promise<Processed | unknown>,
  onFailure: (record: SQSRecord, err: unknown) => void,
  ahead?: ReadAhead<P>,
): Promise<SQSBatchResponse> {
  const prepared = ahead ? records.map((r) => ahead.prepare(r)) : [];
  const stopped = new Set<string | undefined>();
  const failed = new Set<string>();
  const storing: { index: number; durable: Promise<void> }[] = [];
  const groupOf = (record: SQSRecord) => record.attributes?.MessageGroupId;
  for (const [index, record] of records.entries()) {
    const group = groupOf(record);
    const mine = prepared[index];
    if (stopped.has(group)) {
      failed.add(record.messageId);
      if (ahead && mine !== undefined) ahead.discard(mine);
      continue;
    }
    try {
      const processed = await processRecord(record, mine);
      if (isProcessed(processed)) {
        processed.durable.catch(() => undefined); // awaited below, in order
        storing.push({ index, durable: processed.durable });
      }
    } catch (err) {
      onFailure(record, err);
      stopped.add(group);
      failed.add(record.messageId);
    }
  }
  // A record whose outcome could not be stored fails, and so does the rest of its group.
  for (const { index, durable } of storing) {
    const record = records[index];
    if (!record || failed.has(record.messageId)) continue;
    try {
      await durable;
    } catch (err) {
      onFailure(record, err);
      const group = groupOf(record);
      for (const later of records.slice(index))
        if (groupOf(later) === group) failed.add(later.messageId);
    }
  }
  // Nothing of this batch is still being written when the function returns.
  await Promise.allSettled(storing.map((s) => s.durable));
  return {
    batchItemFailures: records
      .filter((r) => failed.has(r.messageId))
      .map((r) => ({ itemIdentifier: r.messageId })),
  };
}

function isProcessed(value: unknown): value is Processed {
  return typeof value === "object" && value !== null && "durable" in value;
}
