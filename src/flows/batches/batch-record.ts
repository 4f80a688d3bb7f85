/**
 * A batch as stored in the record `batch/<id>`: its jobs' outcomes as three bitmaps indexed by
 * each job's place in the batch (done, failed, skipped because the batch was cancelled), so
 * settling a job twice (a crash before its ack, `job:retry` of a failed one) changes nothing
 * twice, and the counts are recounted from the bitmaps on every change. Plain data and pure
 * functions; batch-store.ts reads and writes it.
 */
import type { BatchCallback } from '../envelope.ts';

export interface BatchRecord {
  id: string;
  name: string | null;
  queue: string;
  total: number;
  /** base64 bitmaps, bit i for the job of index i. */
  done: string;
  failed: string;
  skipped: string;
  allowFailures: boolean;
  /** The queues its jobs are on (records written before it was kept lack it). */
  queues?: string[];
  /** Ids of the held callback jobs. */
  callbacks: Partial<Record<BatchCallback, string>>;
  createdAt: number;
  cancelledAt: number | null;
  finishedAt: number | null;
}

export type JobOutcome = 'done' | 'failed' | 'skipped';

export interface BatchCounts {
  total: number;
  /** Settled: done, failed or skipped. */
  processed: number;
  pending: number;
  done: number;
  failed: number;
  skipped: number;
  /** processed / total, 0-100 (100 for an empty batch). */
  progress: number;
}

const OUTCOMES: JobOutcome[] = ['done', 'failed', 'skipped'];

export function newRecord(fields: Omit<BatchRecord, 'done' | 'failed' | 'skipped' | 'cancelledAt' | 'finishedAt'>): BatchRecord {
  return { ...fields, done: '', failed: '', skipped: '', cancelledAt: null, finishedAt: null };
}

export function countsOf(record: BatchRecord): BatchCounts {
  const done = popcount(record.done);
  const failed = popcount(record.failed);
  const skipped = popcount(record.skipped);
  const processed = done + failed + skipped;
  const pending = record.total - processed;
  return { total: record.total, processed, pending, done, failed, skipped, progress: record.total === 0 ? 100 : Math.floor((processed * 100) / record.total) };
}

/** The record with job `i` settled as `outcome` (its earlier outcome, if any, replaced), or null when it already was. */
export function withOutcome(record: BatchRecord, i: number, outcome: JobOutcome): BatchRecord | null {
  if (i < 0 || i >= record.total || !Number.isInteger(i)) return null;
  if (bit(record[outcome], i)) return null;
  const next = { ...record };
  for (const kind of OUTCOMES) next[kind] = setBit(record[kind], i, kind === outcome);
  return next;
}

/** Whether job `i` has no outcome yet. */
export function isPending(record: BatchRecord, i: number): boolean {
  return Number.isInteger(i) && i >= 0 && i < record.total && !OUTCOMES.some((kind) => bit(record[kind], i));
}

/**
 * A batch as `job:batches` and the dashboard list it: counts and status, never its bitmaps.
 * processed = done + failed + skipped (skipped: not run, the batch being cancelled or the job
 * cancelled by hand).
 */
export function batchView(record: BatchRecord) {
  const counts = countsOf(record);
  const status = record.finishedAt !== null ? (record.cancelledAt !== null ? 'cancelled' : counts.failed > 0 ? 'finished with failures' : 'finished')
    : record.cancelledAt !== null ? 'cancelling' : 'running';
  return {
    id: record.id, name: record.name, queue: record.queue, totalJobs: counts.total, pendingJobs: counts.pending, processedJobs: counts.processed,
    doneJobs: counts.done, failedJobs: counts.failed, skippedJobs: counts.skipped, progress: counts.progress, status, allowFailures: record.allowFailures,
    createdAt: new Date(record.createdAt).toISOString(),
    cancelledAt: record.cancelledAt === null ? null : new Date(record.cancelledAt).toISOString(),
    finishedAt: record.finishedAt === null ? null : new Date(record.finishedAt).toISOString(),
  };
}

function bit(bitmap: string, i: number): boolean {
  const bytes = Buffer.from(bitmap, 'base64');
  return ((bytes[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
}

function setBit(bitmap: string, i: number, on: boolean): string {
  let bytes = Buffer.from(bitmap, 'base64');
  if (!on && (bytes[i >> 3] ?? 0) === 0) return bitmap;
  if (bytes.length <= i >> 3) bytes = Buffer.concat([bytes, Buffer.alloc((i >> 3) + 1 - bytes.length)]);
  if (on) bytes[i >> 3]! |= 1 << (i & 7);
  else bytes[i >> 3]! &= ~(1 << (i & 7));
  return bytes.toString('base64');
}

function popcount(bitmap: string): number {
  let n = 0;
  for (let byte of Buffer.from(bitmap, 'base64')) {
    for (; byte; byte &= byte - 1) n++;
  }
  return n;
}
