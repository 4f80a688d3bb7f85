/**
 * The dashboard's and the flows' capabilities (admin-store.ts, record-store.ts) as every driver
 * exposes them: each driver keeps them in parts of its own (its job browser, paused queues,
 * worker registry, lock browser, metrics and records) and extends this class, which forwards
 * each method to its part, once for all drivers.
 */
import type {
  AdminStore, BrowsableQueue, JobPage, JobQuery, JobSummary, LockBrowser, MetricSample, MetricsStore, OverlapLock, PausableQueue,
  WorkerBeat, WorkerEnd, WorkerRecord, WorkerRegistry,
} from '../store/admin-store.ts';
import type { ListedRecord, RecordStore, StoredRecord } from '../store/record-store.ts';

export interface StoreParts {
  jobs: BrowsableQueue;
  paused: PausableQueue;
  workers: WorkerRegistry;
  locks: LockBrowser;
  metrics: MetricsStore;
  records: RecordStore;
}

export abstract class ForwardsToParts implements AdminStore, RecordStore {
  /** Read at each call, so a driver may set it in its constructor. */
  protected abstract readonly parts: StoreParts;

  listJobs(query: JobQuery): Promise<JobPage> { return this.parts.jobs.listJobs(query); }
  getJob(id: string): Promise<JobSummary | null> { return this.parts.jobs.getJob(id); }
  cancelJob(id: string): Promise<boolean> { return this.parts.jobs.cancelJob(id); }
  runJobNow(id: string): Promise<boolean> { return this.parts.jobs.runJobNow(id); }
  pauseQueue(queue: string): Promise<void> { return this.parts.paused.pauseQueue(queue); }
  resumeQueue(queue: string): Promise<boolean> { return this.parts.paused.resumeQueue(queue); }
  pausedQueues(): Promise<string[]> { return this.parts.paused.pausedQueues(); }
  beat(beat: WorkerBeat): Promise<void> { return this.parts.workers.beat(beat); }
  workerStopped(id: string, end: WorkerEnd, at: number): Promise<void> { return this.parts.workers.workerStopped(id, end, at); }
  listWorkers(now: number): Promise<WorkerRecord[]> { return this.parts.workers.listWorkers(now); }
  listOverlapLocks(): Promise<OverlapLock[]> { return this.parts.locks.listOverlapLocks(); }
  releaseOverlapLock(key: string): Promise<boolean> { return this.parts.locks.releaseOverlapLock(key); }
  addMetrics(samples: readonly MetricSample[]): Promise<void> { return this.parts.metrics.addMetrics(samples); }
  readMetrics(from: number, to: number): Promise<MetricSample[]> { return this.parts.metrics.readMetrics(from, to); }
  pruneMetrics(before: number): Promise<number> { return this.parts.metrics.pruneMetrics(before); }
  getRecord(namespace: string, id: string): Promise<StoredRecord | null> { return this.parts.records.getRecord(namespace, id); }
  casRecord(namespace: string, id: string, version: string | null, value: string, ttlMs: number | null): Promise<boolean> {
    return this.parts.records.casRecord(namespace, id, version, value, ttlMs);
  }
  deleteRecord(namespace: string, id: string, version?: string): Promise<boolean> { return this.parts.records.deleteRecord(namespace, id, version); }
  listRecords(namespace: string, limit: number): Promise<ListedRecord[]> { return this.parts.records.listRecords(namespace, limit); }
}
