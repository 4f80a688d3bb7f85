/**
 * Job progress: `await this.progress(40, 'chunk 4/10')` stores `progress/<jobId>` (percent,
 * message, job name, queue, attempt, when) for a day, for `job:status --json` and the
 * dashboard's Jobs page. A job that never reports progress costs nothing; one that does costs a
 * compare-and-set and a read per call (the read gives the next call its version).
 */
import type { AttemptControls } from '../worker/attempt-controls.ts';
import type { RecordStore } from '../store/record-store.ts';

export const PROGRESS_NAMESPACE = 'progress';
export const PROGRESS_TTL_MS = 24 * 3_600_000;

export interface JobProgress {
  /** The job's id. */
  id: string;
  name: string;
  queue: string;
  attempt: number;
  /** 0-100. */
  percent: number;
  message: string | null;
  /** When it was reported (epoch ms). */
  at: number;
}

export async function reportProgress(controls: AttemptControls | null, percent: number, message?: string): Promise<void> {
  if (!(typeof percent === 'number' && percent >= 0 && percent <= 100)) throw new RangeError(`progress(${String(percent)}): the percent must be a number from 0 to 100`);
  if (message !== undefined && typeof message !== 'string') throw new TypeError('progress(percent, message): the message must be a string');
  const store = controls?.records;
  if (!controls || !store) return;
  const { job, clock } = controls;
  const value: JobProgress = { id: job.id, name: job.name, queue: job.queue, attempt: job.attempts, percent, message: message?.slice(0, 1_000) ?? null, at: clock.now() };
  const text = JSON.stringify(value);
  for (let tries = 0; tries < 20; tries++) {
    if (await store.casRecord(PROGRESS_NAMESPACE, job.id, controls.progressVersion, text, PROGRESS_TTL_MS)) {
      // The next call needs the new version: one read now spares a lost write later.
      controls.progressVersion = (await store.getRecord(PROGRESS_NAMESPACE, job.id))?.version ?? null;
      return;
    }
    controls.progressVersion = (await store.getRecord(PROGRESS_NAMESPACE, job.id))?.version ?? null;
  }
}

/** The progress records, the most recent first. */
export async function listProgress(store: RecordStore, limit = 500): Promise<JobProgress[]> {
  const records = await store.listRecords(PROGRESS_NAMESPACE, limit);
  const list: JobProgress[] = [];
  for (const record of records) {
    try {
      list.push(JSON.parse(record.value) as JobProgress);
    } catch {
      // A record written by something else: not progress.
    }
  }
  return list;
}
