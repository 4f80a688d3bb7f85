/**
 * The dashboard capabilities' logic that does not depend on how a store keeps its data (admin-store.ts),
 * for the drivers that cannot ask a query for it (file, memcached): judging a pending job's
 * state, filtering, ordering and paging the Jobs page, the Workers page's order and retention,
 * and adding metric samples up.
 */
import {
  LIVE_WITHIN_MS, RUNTIME_BUCKETS_MS, STOPPED_KEPT,
  type JobPage, type JobQuery, type JobState, type JobSummary, type MetricSample, type WorkerEnd, type WorkerRecord,
} from '../store/admin-store.ts';
import { compareDue } from '../store/queue-policy.ts';

/** A pending job's state at `now`: a live lease makes it reserved, else its due time decides. */
export function jobState(scheduledAt: number, leaseUntil: number | null, now: number): JobState {
  if (leaseUntil !== null && leaseUntil > now) return 'reserved';
  return scheduledAt <= now ? 'ready' : 'scheduled';
}

/** Jobs read at once when a search must look at their names. */
const LOAD_BATCH = 64;

/** What a store knows of a pending job before reading its whole record. */
export interface PendingRef {
  id: string;
  queue: string;
  state: JobState;
  scheduledAt: number;
}

/**
 * One page of the pending jobs `refs` that match `query`, read in full by `load` (null: gone
 * meanwhile). Only the page is loaded, unless a search must look at job names.
 */
export async function pageJobs<T extends PendingRef>(refs: readonly T[], query: JobQuery, load: (ref: T) => Promise<JobSummary | null>): Promise<JobPage> {
  let kept = refs.filter((r) => (query.state === null || r.state === query.state) && (query.queue === null || r.queue === query.queue));
  const loaded = new Map<T, JobSummary | null>();
  if (query.search !== null && query.search !== '') {
    const search = query.search;
    const part = search.toLowerCase();
    const byName = kept.filter((ref) => ref.id !== search && !ref.queue.toLowerCase().includes(part));
    // Names are read in parallel batches: one at a time, 5,000 job files took 5 s.
    for (let i = 0; i < byName.length; i += LOAD_BATCH) {
      const batch = byName.slice(i, i + LOAD_BATCH);
      (await Promise.all(batch.map(load))).forEach((job, k) => loaded.set(batch[k]!, job));
    }
    kept = kept.filter((ref) => !loaded.has(ref) || loaded.get(ref)?.name.toLowerCase().includes(part));
  }
  kept.sort(compareDue); // the claim order
  const limit = Math.max(0, Math.min(500, query.limit));
  const jobs: JobSummary[] = [];
  for (const ref of kept.slice(Math.max(0, query.offset), Math.max(0, query.offset) + limit)) {
    const job = loaded.has(ref) ? loaded.get(ref)! : await load(ref);
    if (job) jobs.push(job);
  }
  return { jobs, total: kept.length };
}

/** The record of a worker that stopped; from its id (`host:pid:startedAt`) when it never beat. */
export function stoppedRecord(last: WorkerRecord | null, id: string, end: WorkerEnd, at: number): WorkerRecord {
  if (last) return { ...last, stoppedAt: at, end };
  const parts = id.split(':');
  const startedAt = Number(parts.at(-1)) || at;
  return {
    id, host: parts.slice(0, -2).join(':') || id, pid: Number(parts.at(-2)) || 0, queues: null, running: [],
    startedAt, beatAt: startedAt, done: 0, failed: 0, stoppedAt: at, end,
  };
}

/**
 * The Workers page from the stored records: live ones first (newest start first), then the newest
 * STOPPED_KEPT stopped ones, a live one whose beats stopped coming marked `lost` (as of its last
 * beat). `drop` names the records past those kept, for the store to delete.
 */
export function workerList(records: readonly WorkerRecord[], now: number): { workers: WorkerRecord[]; drop: string[] } {
  const live: WorkerRecord[] = [];
  const stopped: WorkerRecord[] = [];
  for (const record of records) {
    if (record.stoppedAt !== null) stopped.push(record);
    else if (now - record.beatAt > LIVE_WITHIN_MS) stopped.push({ ...record, stoppedAt: record.beatAt, end: 'lost' }); // running: what it had at its end
    else live.push(record);
  }
  live.sort((a, b) => b.startedAt - a.startedAt || a.id.localeCompare(b.id));
  stopped.sort((a, b) => b.stoppedAt! - a.stoppedAt! || a.id.localeCompare(b.id));
  return { workers: [...live, ...stopped.slice(0, STOPPED_KEPT)], drop: stopped.slice(STOPPED_KEPT).map((w) => w.id) };
}

/** The key metric samples add up under: one per (minute, queue, name). */
export function sampleKey(sample: Pick<MetricSample, 'minute' | 'queue' | 'name'>): string {
  return JSON.stringify([sample.minute, sample.queue, sample.name]);
}

/** `add` added to `into` (a copy; `into` may be undefined for a first sample). */
export function addSample(into: MetricSample | undefined, add: MetricSample): MetricSample {
  const base = into ?? { minute: add.minute, queue: add.queue, name: add.name, done: 0, failed: 0, retried: 0, runtimeMs: 0, waitMs: 0, buckets: [] };
  return {
    minute: base.minute, queue: base.queue, name: base.name,
    done: base.done + add.done, failed: base.failed + add.failed, retried: base.retried + add.retried,
    runtimeMs: base.runtimeMs + add.runtimeMs, waitMs: base.waitMs + add.waitMs,
    buckets: Array.from({ length: RUNTIME_BUCKETS_MS.length + 1 }, (_, i) => (base.buckets?.[i] ?? 0) + (add.buckets?.[i] ?? 0)),
  };
}

/** `samples` added into `into`, keyed by sampleKey. */
export function addSamples(into: Map<string, MetricSample>, samples: readonly MetricSample[]): Map<string, MetricSample> {
  for (const sample of samples) into.set(sampleKey(sample), addSample(into.get(sampleKey(sample)), sample));
  return into;
}

/** Sorted by minute, then queue, then name. */
export function sortSamples(samples: MetricSample[]): MetricSample[] {
  return samples.sort((a, b) => a.minute - b.minute || (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
