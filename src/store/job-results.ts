/**
 * Results: what a job's `run()` returned, kept in the store's records (namespace `result`, id the
 * job's id) for `result_retention_hours`, so `rakit job:show`, the dashboard's job page and
 * `Job.result()` can read it on any host. Written before the job's ack, so a job that is no
 * longer pending has its result stored already. A job whose run() returns nothing writes nothing:
 * results cost a job one record write only when it has one. A final failure is kept too (its
 * error, or its cancel), so a caller waiting on `Job.result()` learns of it instead of waiting out its timeout.
 */
import type { Logger } from '../infra/logger.ts';
import { RECORD_ID_MAX, type RecordStore } from './record-store.ts';

/** A kept result, as stored (JSON). */
export type KeptResult =
  | { done: true; value: unknown; at: number }
  /** The value was not kept: larger than max_result_bytes, or not JSON. */
  | { done: true; dropped: string; at: number }
  | { done: false; error: string; at: number }
  /** Cancelled (`rakit job:cancel`, `Job.cancel`, the dashboard): `error` says how. */
  | { done: false; cancelled: true; error: string; at: number };

export interface ResultSettings {
  /** 0 keeps none. */
  result_retention_hours: number;
  max_result_bytes: number;
}

export class JobResults {
  constructor(
    private readonly records: RecordStore,
    private readonly settings: ResultSettings,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  /** Whether results are kept at all. */
  get keeps(): boolean {
    return this.settings.result_retention_hours > 0;
  }

  /** Keeps what run() returned (`undefined`: nothing to keep, nothing written). */
  async keepValue(jobId: string, value: unknown, at: number): Promise<void> {
    if (value === undefined || !this.keeps) return;
    let text: string;
    try {
      if (typeof value === 'function' || typeof value === 'symbol') throw new Error(`run() returned a ${typeof value}`);
      text = JSON.stringify({ done: true, value, at } satisfies KeptResult);
    } catch (error) {
      return this.drop(jobId, `not JSON: ${(error as Error).message}`, at);
    }
    const bytes = Buffer.byteLength(text);
    if (bytes > this.settings.max_result_bytes) return this.drop(jobId, `${bytes} bytes, over max_result_bytes (${this.settings.max_result_bytes})`, at);
    return this.write(jobId, text);
  }

  private drop(jobId: string, why: string, at: number): Promise<void> {
    this.logger.warn({ id: jobId }, `The result of job ${jobId} is not kept: ${why}`);
    return this.put(jobId, { done: true, dropped: why, at });
  }

  /** Keeps a final failure's error line. */
  keepFailure(jobId: string, error: Error, at: number): Promise<void> {
    if (!this.keeps) return Promise.resolve();
    return this.put(jobId, { done: false, error: `${error.name}: ${error.message}`, at });
  }

  /** Keeps a cancel: a pending job deleted, or a running one stopped (`how`). */
  keepCancelled(jobId: string, how: string, at: number): Promise<void> {
    if (!this.keeps) return Promise.resolve();
    return this.put(jobId, { done: false, cancelled: true, error: how, at });
  }

  private put(jobId: string, kept: KeptResult): Promise<void> {
    return this.write(jobId, JSON.stringify(kept));
  }

  /** Creates the record (one round trip), or replaces one an earlier run of the job left. */
  private async write(jobId: string, text: string): Promise<void> {
    if (jobId.length > RECORD_ID_MAX) return;
    const ttl = this.settings.result_retention_hours * 3_600_000;
    if (await this.records.casRecord('result', jobId, null, text, ttl)) return;
    for (let i = 0; i < 3; i++) {
      const current = await this.records.getRecord('result', jobId);
      if (await this.records.casRecord('result', jobId, current?.version ?? null, text, ttl)) return;
    }
  }
}

/** The kept result of a job, or null (none kept, expired, or the job has not finished). */
export async function readResult(records: Pick<RecordStore, 'getRecord'>, jobId: string): Promise<KeptResult | null> {
  if (jobId.length === 0 || jobId.length > RECORD_ID_MAX) return null;
  const record = await records.getRecord('result', jobId);
  return record ? (JSON.parse(record.value) as KeptResult) : null;
}
