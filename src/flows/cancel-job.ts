/**
 * A job cancelled from outside its workflow (`rakit job:cancel`, `Job.cancel`, the dashboard's
 * Cancel), and what a held job is waiting for. A pending job is deleted; a running one is asked
 * to stop (store/cancel-requests.ts: its process aborts its signal, and records it cancelled
 * once its code has stopped). A cancelled batch job is counted in its batch as skipped, so the batch can still
 * finish; a cancelled chain step takes the rest of its chain and the chain's catch job with it, as
 * none of them can run any more. A held job (held.ts) belongs to its workflow: it is neither made
 * due nor cancelled by hand (`heldBy` says why).
 */
import type { BrowsableQueue, JobSummary } from '../store/admin-store.ts';
import { requestCancel } from '../store/cancel-requests.ts';
import type { JobResults } from '../store/job-results.ts';
import { UsageError } from '../infra/errors.ts';
import { isPending, withOutcome } from './batches/batch-record.ts';
import { finishIfDone, runCallbacks, type FlowStore } from './batches/batch-settle.ts';
import { updateBatch } from './batches/batch-store.ts';
import { readFlow } from './envelope.ts';
import { drop, isHeld } from './held.ts';

/** `chain` or `batch callback` for a held job (what it waits for), else null. */
export function heldBy(job: Pick<JobSummary, 'scheduledAt' | 'payload'>): 'chain' | 'batch callback' | 'workflow' | null {
  if (!isHeld(job.scheduledAt)) return null;
  const flow = readFlow(job.payload);
  return flow?.chain ? 'chain' : flow?.callback ? 'batch callback' : 'workflow';
}

/** Cancels a pending job (not a held one: check heldBy first) and settles its workflow. False when it was not pending. */
export async function cancelPendingJob(store: FlowStore, job: Pick<JobSummary, 'id' | 'payload'>, now: number): Promise<boolean> {
  if (!(await store.cancelJob(job.id))) return false;
  const flow = readFlow(job.payload);
  if (flow?.chain) await drop(store, flow.chain.next, ...flow.chain.rest, flow.chain.catch);
  if (flow?.batch !== undefined && flow.i !== undefined) {
    const i = flow.i;
    // Only a job the batch still waits for (a failed one retried by hand already counted as failed).
    const record = await updateBatch(store, flow.batch, (current) => (isPending(current, i) ? finishIfDone(withOutcome(current, i, 'skipped')!, now) : null));
    if (record) await runCallbacks(store, record);
  }
  return true;
}

/** What a cancel did: a pending job deleted, a running one asked to stop, or no such job (finished or never there). */
export type CancelOutcome = 'cancelled' | 'requested' | 'missing';

/**
 * Cancels job `id`, pending or running (see the header); a held job is refused (UsageError): its
 * workflow owns it. A pending job's cancel is kept as its result, so Job.result() says so.
 */
export async function cancelJob(
  store: FlowStore & Pick<BrowsableQueue, 'getJob'>, id: string,
  how: { now: number; by: 'cli' | 'api' | 'dashboard'; results: Pick<JobResults, 'keepCancelled'> | null },
): Promise<CancelOutcome> {
  // A pending job claimed between the read and the delete is running: look again.
  for (let i = 0; i < 3; i++) {
    const job = await store.getJob(id);
    if (!job) return 'missing';
    if (job.state === 'reserved') {
      await requestCancel(store, id, { at: how.now, by: how.by });
      return 'requested';
    }
    const held = heldBy(job);
    if (held) throw new UsageError(`Job ${id} is held by its ${held}: its workflow makes it due or drops it (cancel the batch or the job before it instead)`);
    if (await cancelPendingJob(store, job, how.now)) {
      await how.results?.keepCancelled(id, `cancelled while pending (${how.by})`, how.now);
      return 'cancelled';
    }
  }
  return 'missing';
}
