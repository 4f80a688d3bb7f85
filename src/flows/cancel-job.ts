/**
 * A pending job cancelled from outside its workflow (the dashboard's Cancel), and what a held job
 * is waiting for. A cancelled batch job is counted in its batch as skipped, so the batch can still
 * finish; a cancelled chain step takes the rest of its chain and the chain's catch job with it, as
 * none of them can run any more. A held job (held.ts) belongs to its workflow: it is neither made
 * due nor cancelled by hand (`heldBy` says why).
 */
import type { JobSummary } from '../store/admin-store.ts';
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
