/**
 * What a batch job's final outcome does: counts it in its batch (batch-store.ts), then makes the
 * callbacks due or drops them as the counts now say. Both steps are idempotent, so settling a job
 * again (a crash between this and its ack, `job:retry`) and two settlers finishing the batch at
 * the same moment still run each callback once: the callback is one held job, and promoting it
 * twice makes it due once.
 *
 * - first failure: `catch` made due; without allowFailures the batch is cancelled too (its
 *   pending jobs are not run, but counted as skipped).
 * - nothing pending: `then` made due if nothing failed and the batch was not cancelled (else
 *   dropped), `catch` dropped if nothing failed, `finally` made due.
 */
import type { BrowsableQueue, LockBrowser } from '../../store/admin-store.ts';
import type { RecordStore } from '../../store/record-store.ts';
import { countsOf, withOutcome, type BatchRecord, type JobOutcome } from './batch-record.ts';
import { updateBatch } from './batch-store.ts';
import { drop, promote } from '../held.ts';

export type FlowStore = Pick<RecordStore, 'getRecord' | 'casRecord' | 'deleteRecord' | 'listRecords'> & Pick<BrowsableQueue, 'runJobNow' | 'cancelJob'> & Pick<LockBrowser, 'releaseOverlapLock'>;

/** Counts job `i` of batch `id` as `outcome` and runs the callbacks now due. */
export async function settleBatchJob(store: FlowStore, id: string, i: number, outcome: JobOutcome, now: number): Promise<BatchRecord | null> {
  const record = await updateBatch(store, id, (current) => {
    const next = withOutcome(current, i, outcome);
    if (!next) return null;
    if (outcome === 'failed' && !next.allowFailures && next.cancelledAt === null) next.cancelledAt = now;
    return finishIfDone(next, now);
  });
  if (record) await runCallbacks(store, record);
  return record;
}

/** The record with finishedAt set if nothing is pending any more. */
export function finishIfDone(record: BatchRecord, now: number): BatchRecord {
  return record.finishedAt === null && countsOf(record).pending === 0 ? { ...record, finishedAt: now } : record;
}

/**
 * Cancels a batch: its jobs not yet started are not run. `record` is null when there is no such
 * batch; `cancelled` is false when it had already finished or been cancelled (nothing changed).
 */
export async function cancelBatch(store: FlowStore, id: string, now: number): Promise<{ record: BatchRecord | null; cancelled: boolean }> {
  let cancelled = false;
  const record = await updateBatch(store, id, (current) => {
    if (current.cancelledAt !== null || current.finishedAt !== null) return null;
    cancelled = true;
    return { ...current, cancelledAt: now };
  });
  if (record) await runCallbacks(store, record);
  return { record, cancelled };
}

/** Makes due or drops the callbacks as the record says: safe to call any number of times. */
export async function runCallbacks(store: FlowStore, record: BatchRecord): Promise<void> {
  const { then, catch: onCatch, finally: onFinally } = record.callbacks;
  const counts = countsOf(record);
  if (counts.failed > 0) await promote(store, onCatch);
  if (counts.pending > 0) return;
  if (counts.failed === 0 && record.cancelledAt === null) await promote(store, then);
  else await drop(store, then);
  if (counts.failed === 0) await drop(store, onCatch);
  await promote(store, onFinally);
}
