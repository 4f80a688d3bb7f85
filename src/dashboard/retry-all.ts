/**
 * Retrying every failed job of a queue or a job name, in batches, in the background of the
 * dashboard process, with its progress kept for the page that shows how far it got. Runs are
 * kept in memory for an hour after they end (a restart forgets them; the retried jobs stay).
 */
import { randomBytes } from 'node:crypto';
import type { FailedRetry, FailedStore } from '../store/driver.ts';
import { coerceError } from '../infra/errors.ts';

const BATCH = 100;
const KEEP_MS = 3_600_000;
/** Every failed job (listFailed takes a limit). */
const ALL = 10_000_000;

export interface RetryRun {
  id: string;
  /** What is retried: `queue` or `name` equal to `value`. */
  by: 'queue' | 'name';
  value: string;
  total: number;
  /** Failed jobs handled so far, of `total`. */
  handled: number;
  retried: number;
  /** Left failed: their overlap key is held by a pending or running job. */
  overlapping: number;
  /** Gone meanwhile (retried or forgotten elsewhere). */
  missing: number;
  startedAt: number;
  finishedAt: number | null;
  error: string | null;
}

export class RetryRuns {
  private readonly runs = new Map<string, RetryRun>();

  constructor(private readonly store: FailedStore & FailedRetry, private readonly now: () => number) {}

  get(id: string): RetryRun | undefined {
    return this.runs.get(id);
  }

  /** Starts retrying in the background; returns the run at once. */
  async start(by: 'queue' | 'name', value: string): Promise<RetryRun> {
    for (const [id, run] of this.runs) if (run.finishedAt !== null && this.now() - run.finishedAt > KEEP_MS) this.runs.delete(id);
    const ids = (await this.store.listFailed(ALL)).filter((f) => (by === 'queue' ? f.queue : f.name) === value).map((f) => f.id);
    const run: RetryRun = {
      id: randomBytes(8).toString('hex'), by, value, total: ids.length, handled: 0, retried: 0, overlapping: 0, missing: 0,
      startedAt: this.now(), finishedAt: null, error: null,
    };
    this.runs.set(run.id, run);
    void this.work(run, ids);
    return run;
  }

  private async work(run: RetryRun, ids: string[]): Promise<void> {
    try {
      for (let i = 0; i < ids.length; i += BATCH) {
        const batch = ids.slice(i, i + BATCH);
        const result = await this.store.retryFailed(batch);
        run.retried += result.retried.length;
        run.overlapping += result.overlapping.length;
        run.missing += result.missing.length;
        run.handled += batch.length;
      }
    } catch (error) {
      run.error = coerceError(error).message;
    } finally {
      run.finishedAt = this.now();
    }
  }
}
