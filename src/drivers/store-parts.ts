/**
 * The base of every driver: the services built once over records (store-services.ts), and the
 * browser's and records' methods forwarded to the parts a driver keeps them in (its job and lock
 * browser, its failed store, its records), once for all drivers.
 */
import type { BrowsableQueue, JobPage, JobQuery, JobSummary, LockBrowser, OverlapLock } from '../store/admin-store.ts';
import type { FailedCounts, FailedFilter, FailedJob, FailedPage, FailedQuery, FailedStore, Requeued } from '../store/driver.ts';
import type { ListedRecord, RecordStore, StoredRecord } from '../store/record-store.ts';
import { ServicesOverRecords } from '../store/store-services.ts';

export interface StoreParts {
  jobs: BrowsableQueue;
  locks: LockBrowser;
  failed: FailedStore;
  records: RecordStore;
}

export abstract class ForwardsToParts extends ServicesOverRecords implements BrowsableQueue, LockBrowser, FailedStore, RecordStore {
  /** Read at each call, so a driver may set it in its constructor. */
  protected abstract readonly parts: StoreParts;

  listJobs(query: JobQuery): Promise<JobPage> { return this.parts.jobs.listJobs(query); }
  getJob(id: string): Promise<JobSummary | null> { return this.parts.jobs.getJob(id); }
  cancelJob(id: string): Promise<boolean> { return this.parts.jobs.cancelJob(id); }
  runJobNow(id: string): Promise<boolean> { return this.parts.jobs.runJobNow(id); }
  listOverlapLocks(): Promise<OverlapLock[]> { return this.parts.locks.listOverlapLocks(); }
  releaseOverlapLock(key: string): Promise<boolean> { return this.parts.locks.releaseOverlapLock(key); }
  listFailed(query: FailedQuery): Promise<FailedPage> { return this.parts.failed.listFailed(query); }
  countFailed(filter: FailedFilter): Promise<FailedCounts> { return this.parts.failed.countFailed(filter); }
  getFailed(id: string): Promise<FailedJob | null> { return this.parts.failed.getFailed(id); }
  requeueFailed(ids: readonly string[], at: number): Promise<Requeued[]> { return this.parts.failed.requeueFailed(ids, at); }
  forgetFailed(ids: readonly string[]): Promise<boolean[]> { return this.parts.failed.forgetFailed(ids); }
  getRecord(namespace: string, id: string): Promise<StoredRecord | null> { return this.parts.records.getRecord(namespace, id); }
  casRecord(namespace: string, id: string, version: string | null, value: string, ttlMs: number | null): Promise<boolean> {
    return this.parts.records.casRecord(namespace, id, version, value, ttlMs);
  }
  deleteRecord(namespace: string, id: string, version?: string): Promise<boolean> { return this.parts.records.deleteRecord(namespace, id, version); }
  listRecords(namespace: string, limit: number): Promise<ListedRecord[]> { return this.parts.records.listRecords(namespace, limit); }
}
