/**
 * `Job.result(id, { timeoutMs })`: waits for a job's result (store/job-results.ts) from app code,
 * on any host sharing the store. Resolves with what run() returned; rejects with a
 * JobResultError when the job failed for good, was cancelled, or its result was not kept, and with a
 * TimeoutError when it has not finished in time. A job that finished without returning anything
 * (or that the store does not know) resolves with undefined once it is no longer pending.
 */
import { RakitError, TimeoutError } from '../infra/errors.ts';
import { holding } from '../infra/keep-alive.ts';
import { readResult } from '../store/job-results.ts';
import { runtime } from './runtime.ts';

export interface ResultOptions {
  /** How long to wait, in ms (default 30,000). */
  timeoutMs?: number;
}

/** The job failed for good (its error line), was cancelled, or its result was not kept (why). */
export class JobResultError extends RakitError {}

const FIRST_POLL_MS = 25;
const MAX_POLL_MS = 500;

export function jobResult(id: string, options: ResultOptions = {}): Promise<unknown> {
  // rakit's connections do not keep a process alive by themselves: the wait does, until it ends.
  return holding(() => waitForResult(id, options));
}

async function waitForResult(id: string, options: ResultOptions): Promise<unknown> {
  const rt = await runtime();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (let wait = FIRST_POLL_MS; ; wait = Math.min(MAX_POLL_MS, Math.round(wait * 1.5))) {
    const kept = await readResult(rt.driver, id);
    // The result is stored before the job leaves the queue: gone without one, it returned nothing.
    const settled = kept ?? ((await rt.driver.getJob(id)) === null ? await readResult(rt.driver, id) ?? 'nothing' : null);
    if (settled === 'nothing') return undefined;
    if (settled) {
      if (!settled.done) throw new JobResultError('cancelled' in settled ? `Job ${id} was cancelled: ${settled.error}` : `Job ${id} failed: ${settled.error}`);
      if ('dropped' in settled) throw new JobResultError(`Job ${id} finished, but its result was not kept: ${settled.dropped}`);
      return settled.value;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new TimeoutError(`Job ${id} has not finished within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(wait, left)));
  }
}
