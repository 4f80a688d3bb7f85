/**
 * A cancelled batch whose remaining jobs are no longer stored (removed by `job:clear`, or by hand)
 * would wait for them forever. `settleGoneJobs` looks through the pending jobs on the batch's
 * queues for its jobs (stopping once it has found as many as the batch still waits for), then
 * counts every job the batch waits for that it did not find as skipped, which may finish the
 * batch and make `finally` due. Sound because a job's outcome is counted before the job leaves
 * the store: a job that is gone and still uncounted in the record read after the search was
 * removed without running. Used only on a cancelled batch, whose jobs would not run anyway.
 */
import type { BrowsableQueue } from '../../store/admin-store.ts';
import { countsOf, isPending, withOutcome, type BatchRecord } from './batch-record.ts';
import { cancelBatch, finishIfDone, runCallbacks, type FlowStore } from './batch-settle.ts';
import { readBatch, updateBatch } from './batch-store.ts';
import { readFlow } from '../envelope.ts';

const PAGE = 500;

/** Counts the cancelled batch's jobs that are no longer stored as skipped; resolves to how many. */
export async function settleGoneJobs(store: FlowStore & Pick<BrowsableQueue, 'listJobs'>, record: BatchRecord, now: number): Promise<number> {
  const waiting = countsOf(record).pending;
  if (record.cancelledAt === null || waiting === 0) return 0;
  const found = new Set<number>();
  for (const queue of record.queues ?? [null]) {
    for (let offset = 0; found.size < waiting; offset += PAGE) {
      const { jobs } = await store.listJobs({ state: null, queue, search: null, offset, limit: PAGE });
      for (const job of jobs) {
        const flow = readFlow(job.payload);
        if (flow?.batch === record.id && flow.i !== undefined) found.add(flow.i);
      }
      if (jobs.length < PAGE) break;
    }
  }
  if (found.size >= waiting) return 0;
  let gone = 0;
  const settled = await updateBatch(store, record.id, (current) => {
    let next = current;
    gone = 0;
    for (let i = 0; i < current.total; i++) {
      if (found.has(i) || !isPending(current, i)) continue;
      next = withOutcome(next, i, 'skipped') ?? next;
      gone++;
    }
    return gone === 0 ? null : finishIfDone(next, now);
  });
  if (settled) await runCallbacks(store, settled);
  return gone;
}

export interface CancelOutcome {
  /** The batch as it now stands; null when there is no such batch. */
  record: BatchRecord | null;
  /** False when it had already finished or been cancelled. */
  cancelled: boolean;
  /** Its jobs found gone from the store and counted as skipped. */
  gone: number;
}

/** Cancels a batch (job:batches cancel, the dashboard), then settles its jobs no longer stored. */
export async function cancelFromOutside(store: FlowStore & Pick<BrowsableQueue, 'listJobs'>, id: string, now: number): Promise<CancelOutcome> {
  const { record, cancelled } = await cancelBatch(store, id, now);
  if (!record || record.finishedAt !== null || record.cancelledAt === null) return { record, cancelled, gone: 0 };
  const gone = await settleGoneJobs(store, record, now);
  return { record: gone > 0 ? await readBatch(store, id) : record, cancelled, gone };
}
