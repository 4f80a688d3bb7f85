/**
 * The `file` driver's Jobs and Locks pages (admin-store.ts), on the same files and renames as the
 * driver (file.ts):
 * - Jobs: the pending/ and reserved/ file names say each job's state, due time and attempts;
 *   only the jobs shown are read. A cancel renames the job file aside, so it races a claim's
 *   rename and one of them wins; run-now renames a scheduled file to a due name.
 * - Locks: the lock files of file-locks.ts, with the job holding each.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { BrowsableQueue, JobPage, JobQuery, JobSummary, LockBrowser, OverlapLock } from '../../store/admin-store.ts';
import type { Clock } from '../../infra/clock.ts';
import { jobState } from '../../store/job-view.ts';
import { LANE_SEPARATOR } from '../../store/claims/lanes.ts';
import { pageJobs, type PendingRef } from '../admin-shared.ts';
import type { FileLocks } from './file-locks.ts';
import { list, newId, pad, parseHeader, renamed, splitJob } from './file-store.ts';

const ID = /^[0-9a-z]{8,40}$/;

/** What the dashboard's steps need of the driver. */
export interface FileAdminQueue {
  readonly root: string;
  readonly clock: Clock;
  open(): Promise<void>;
}

/** A job file as its name tells it. */
interface FileRef extends PendingRef {
  file: string;
  attempts: number;
  reservedUntil: number | null;
}

export class FileAdmin implements BrowsableQueue, LockBrowser {
  constructor(private readonly queue: FileAdminQueue, private readonly locks: FileLocks) {}

  private dir(...parts: string[]): string {
    return path.join(this.queue.root, ...parts);
  }

  /** Every pending job (of `queue`, or all) from the file names, judged at `now`. */
  private async refs(queue: string | null, now: number): Promise<FileRef[]> {
    const queues = queue !== null ? [queue] : [...new Set([...(await list(this.dir('pending'))), ...(await list(this.dir('reserved')))])];
    const refs: FileRef[] = [];
    for (const q of queues) {
      for (const f of (await list(this.dir('pending', q))).filter((f) => f.endsWith('.job'))) {
        const [due, id, attempts] = f.split('.');
        refs.push({ id: id!, queue: q, file: this.dir('pending', q, f), scheduledAt: Number(due), attempts: Number(attempts), state: jobState(Number(due), null, now), reservedUntil: null });
      }
      for (const f of (await list(this.dir('reserved', q))).filter((f) => f.endsWith('.job'))) {
        const [id, attempts, , until, due] = f.split('.');
        const live = Number(until) > now;
        // A lapsed lease is due again, at its end (as the next claim renames it back to pending).
        // A name of an earlier version has no due time: its lease end stands in.
        refs.push({
          id: id!, queue: q, file: this.dir('reserved', q, f), attempts: Number(attempts), state: live ? 'reserved' : 'ready',
          scheduledAt: live && due !== 'job' && due !== undefined ? Number(due) : Number(until), reservedUntil: live ? Number(until) : null,
        });
      }
    }
    return refs;
  }

  /** The job of `ref` in full; null when its file moved on meanwhile. */
  private async load(ref: FileRef): Promise<JobSummary | null> {
    const text = await readFile(ref.file, 'utf8').catch(() => null);
    if (text === null) return null;
    const [head, payload] = splitJob(text);
    const header = parseHeader(head);
    return {
      id: ref.id, name: header?.name ?? '<unreadable job file>', queue: ref.queue, payload: header ? payload : text, attempts: ref.attempts,
      scheduledAt: ref.scheduledAt, createdAt: header?.createdAt ?? 0, overlapKey: header?.overlapKey ?? null, state: ref.state, reservedUntil: ref.reservedUntil,
    };
  }

  private async find(id: string): Promise<FileRef | null> {
    if (!ID.test(id)) return null;
    return (await this.refs(null, this.queue.clock.now())).find((r) => r.id === id) ?? null;
  }

  async listJobs(query: JobQuery): Promise<JobPage> {
    await this.queue.open();
    // A queue's groups are lanes of their own (store/claims/lanes.ts): a queue's page reads every lane, pageJobs keeps its own.
    return pageJobs(await this.refs(query.queue?.includes(LANE_SEPARATOR) ? query.queue : null, this.queue.clock.now()), query, (ref) => this.load(ref));
  }

  async getJob(id: string): Promise<JobSummary | null> {
    await this.queue.open();
    const ref = await this.find(id);
    return ref && this.load(ref);
  }

  async cancelJob(id: string): Promise<boolean> {
    await this.queue.open();
    // A claim renames the same file: whichever rename comes first wins. Lost: look again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const ref = await this.find(id);
      if (!ref || ref.state === 'reserved') return false;
      const aside = this.dir('tmp', `${newId()}.cancelled`);
      if (!(await renamed(ref.file, aside))) continue;
      const header = parseHeader(splitJob(await readFile(aside, 'utf8'))[0]);
      await rm(aside, { force: true });
      if (header) await this.locks.drop(header.overlapKey, id);
      return true;
    }
    return false;
  }

  async runJobNow(id: string): Promise<boolean> {
    await this.queue.open();
    const ref = await this.find(id);
    if (!ref || ref.state !== 'scheduled') return false;
    return renamed(ref.file, this.dir('pending', ref.queue, `${pad(this.queue.clock.now())}.${id}.${ref.attempts}.job`));
  }

  async listOverlapLocks(): Promise<OverlapLock[]> {
    await this.queue.open();
    const byId = new Map((await this.refs(null, this.queue.clock.now())).map((r) => [r.id, r]));
    const out: OverlapLock[] = [];
    for (const lock of await this.locks.list()) {
      const ref = byId.get(lock.id);
      const job = ref && (await this.load(ref));
      // A lock with no job is a dispatch under way or one that died: the next dispatch takes it over.
      if (job) out.push({ key: lock.key, jobId: job.id, name: job.name, queue: job.queue, state: job.state, since: job.createdAt });
    }
    return out.sort((a, b) => a.since - b.since || a.key.localeCompare(b.key));
  }

  async releaseOverlapLock(key: string): Promise<boolean> {
    await this.queue.open();
    return this.locks.release(key);
  }
}
