/**
 * The `file` driver: one file per job under `file_path` (default storage/jobs), no server.
 *
 * Every state change is one atomic rename, so a kill -9 at any moment leaves each job in
 * exactly one state:
 *   pending/<queue>/<due>.<id>.<attempts>.job                   waiting (sorted by due time)
 *   reserved/<queue>/<id>.<attempts>.<token>.<until>.<due>.job  held under a lease
 *   failed/<queue>/<id>.<attempts>.job (+ <id>.err)             the failed store (file-failed.ts)
 *   locks/<sha1 of overlap key>.lock                            held overlap keys (file-locks.ts)
 *   records/<namespace>/<sha1 of id>.rec                        the record store (file-records.ts)
 * New files are written to tmp/, fsynced and renamed into place (file-store.ts), so no
 * half-written job is ever seen (jobs are stored by file-push.ts). A claim is the rename
 * pending → reserved (one claimer wins); a lapsed lease is renamed back to pending. Files are
 * 0600 and folders 0700. Idle workers wake on new pending files (chokidar) instead of only
 * sleeping. The Jobs and Locks pages are file-admin.ts, on the same files; paused queues, workers,
 * metrics and the restart signal are kept over the records (store-services.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import type { Clock } from '../../infra/clock.ts';
import type {
  Backend, Failure, NewJob, PushResult, QueueStats, ReleaseOptions, ReserveRequest, ReservedJob,
} from '../../store/driver.ts';
import { claimToken, leaseFor, ownedBy } from '../../store/driver.ts';
import { QueueTurns, reserveInOrder, type ListsQueues } from '../../store/claims/queue-policy.ts';
import { jobState } from '../../store/job-view.ts';
import { FileAdmin } from './file-admin.ts';
import { FileFailedStore, type FileQueue } from './file-failed.ts';
import { FileLocks } from './file-locks.ts';
import { pushJobs } from './file-push.ts';
import { FileRecords } from './file-records.ts';
import { list, newId, pad, parseHeader, renamed, splitJob, writeAtomic } from './file-store.ts';
import { LazyOpen } from '../lazy-open.ts';
import { hasDueFromStats } from '../shared.ts';
import { ForwardsToParts, type StoreParts } from '../store-parts.ts';
import { Wakeup } from '../wakeup.ts';

export class FileDriver extends ForwardsToParts implements Backend, ListsQueues, FileQueue {
  readonly description: string;
  private readonly opened: LazyOpen;
  private readonly locks: FileLocks;
  protected readonly parts: StoreParts;
  private watcher: FSWatcher | null = null;
  private readonly wakeup = new Wakeup();
  private readonly turns: QueueTurns;

  constructor(readonly root: string, readonly clock: Clock) {
    super();
    this.description = `file (${root})`;
    this.turns = new QueueTurns(this, () => clock.now());
    this.locks = new FileLocks(root, clock);
    const admin = new FileAdmin(this, this.locks);
    this.parts = { jobs: admin, locks: admin, failed: new FileFailedStore(this, this.locks), records: new FileRecords(this) };
    this.opened = new LazyOpen(async () => {
      for (const sub of ['tmp', 'pending', 'reserved', 'failed', 'locks']) await mkdir(this.dir(sub), { recursive: true, mode: 0o700 });
    }, { what: `use ${root} for the file driver`, fix: 'check file_path in application/config/job.ts' });
  }

  private dir(...parts: string[]): string {
    return path.join(this.root, ...parts);
  }

  open(): Promise<void> {
    return this.opened.open();
  }

  async push(job: NewJob): Promise<PushResult> {
    return (await this.pushMany([job]))[0]!;
  }

  async pushMany(jobs: readonly NewJob[]): Promise<PushResult[]> {
    if (jobs.length === 0) return [];
    await this.open();
    return pushJobs(this.root, this.clock, this.locks, jobs);
  }

  async reserve(request: ReserveRequest): Promise<ReservedJob[]> {
    await this.open();
    return reserveInOrder(this, request, this.turns);
  }

  async queueNames(): Promise<string[]> {
    return list(this.dir('pending'));
  }

  /** The due files of `queue` in name order (due time first), renamed to reserved/ one by one. */
  async claimFrom(queue: string, limit: number, request: ReserveRequest): Promise<ReservedJob[]> {
    const now = this.clock.now();
    await this.recoverLapsed(queue, now);
    const due = (await list(this.dir('pending', queue))).filter((f) => f.endsWith('.job') && Number(f.split('.')[0]) <= now).sort();
    const claimed: ReservedJob[] = [];
    const token = claimToken(request.owner, randomBytes(8).toString('hex'));
    for (const file of due) {
      if (claimed.length >= limit) break;
      const [scheduledAt, id, attempts] = file.split('.');
      const source = this.dir('pending', queue, file);
      // Job files never change once written (only renamed), so this read is the job we claim.
      const text = await readFile(source, 'utf8').catch(() => null);
      if (text === null) continue; // another worker took it
      const [head, payload] = splitJob(text);
      const header = parseHeader(head);
      if (request.names && (!header || !request.names.includes(header.name))) continue;
      const until = now + (header ? leaseFor(request.leases, header.name) : request.leases.defaultMs);
      const tries = Number(attempts) + 1;
      const target = this.dir('reserved', queue, `${id}.${tries}.${token}.${pad(until)}.${scheduledAt}.job`);
      await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      if (!(await renamed(source, target))) continue; // another worker took it
      claimed.push({
        id: id!, name: header?.name ?? '<unreadable job file>', queue, payload: header ? payload : text, attempts: tries,
        scheduledAt: Number(scheduledAt), createdAt: header?.createdAt ?? 0, overlapKey: header?.overlapKey ?? null, token, reservedUntil: until,
      });
    }
    return claimed;
  }

  /** Renames reserved files whose lease lapsed back to pending (one renamer wins each). */
  private async recoverLapsed(queue: string, now: number): Promise<void> {
    for (const file of await list(this.dir('reserved', queue))) {
      const [id, attempts, , until] = file.split('.');
      if (Number(until) > now) continue;
      await rename(this.dir('reserved', queue, file), this.dir('pending', queue, `${until}.${id}.${attempts}.job`)).catch(() => undefined);
    }
  }

  private reservedPath(job: ReservedJob): string {
    return this.dir('reserved', job.queue, `${job.id}.${job.attempts}.${job.token}.${pad(job.reservedUntil)}.${pad(job.scheduledAt)}.job`);
  }

  async ack(job: ReservedJob): Promise<boolean> {
    try {
      await unlink(this.reservedPath(job));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    await this.locks.drop(job.overlapKey, job.id);
    return true;
  }

  async release(job: ReservedJob, options: ReleaseOptions): Promise<boolean> {
    const attempts = options.countAttempt ? job.attempts : Math.max(0, job.attempts - 1);
    return renamed(this.reservedPath(job), this.dir('pending', job.queue, `${pad(options.at)}.${job.id}.${attempts}.job`));
  }

  /** Each reserved file whose token was made for `owner` is renamed back to pending (one rename, as a claim takes it). */
  async releaseOwned(owner: string): Promise<number> {
    await this.open();
    let released = 0;
    for (const queue of await list(this.dir('reserved'))) {
      for (const file of await list(this.dir('reserved', queue))) {
        const [id, attempts, token, , due] = file.split('.');
        if (!token || !ownedBy(token, owner)) continue;
        const back = this.dir('pending', queue, `${due}.${id}.${Math.max(0, Number(attempts) - 1)}.job`);
        if (await renamed(this.dir('reserved', queue, file), back)) released++;
      }
    }
    return released;
  }

  async fail(job: ReservedJob, failure: Failure): Promise<boolean> {
    const target = this.dir('failed', job.queue, `${job.id}.${job.attempts}.job`);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    if (!(await renamed(this.reservedPath(job), target))) return false;
    await writeAtomic(this.root, this.dir('failed', job.queue, `${job.id}.err`), JSON.stringify({ exception: failure.exception, failedAt: this.clock.now() }));
    await this.locks.drop(job.overlapKey, job.id);
    return true;
  }

  hasDue(queues: readonly string[] | null): Promise<boolean> {
    return hasDueFromStats(this, queues);
  }

  async stats(): Promise<QueueStats[]> {
    await this.open();
    const now = this.clock.now();
    const queues = new Set([...(await list(this.dir('pending'))), ...(await list(this.dir('reserved'))), ...(await list(this.dir('failed')))]);
    const out: QueueStats[] = [];
    for (const queue of [...queues].sort()) {
      const s: QueueStats = { queue, ready: 0, scheduled: 0, reserved: 0, failed: 0 };
      for (const f of await list(this.dir('pending', queue))) {
        if (f.endsWith('.job')) s[jobState(Number(f.split('.')[0]), null, now)]++;
      }
      for (const f of await list(this.dir('reserved', queue))) {
        const until = Number(f.split('.')[3]);
        s[jobState(until, until, now)]++; // a lapsed lease is due again
      }
      s.failed = (await list(this.dir('failed', queue))).filter((f) => f.endsWith('.job')).length;
      if (s.ready + s.scheduled + s.reserved + s.failed > 0) out.push(s);
    }
    return out;
  }

  async clear(queue: string | null): Promise<number> {
    await this.open();
    let n = 0;
    for (const q of queue === null ? await list(this.dir('pending')) : [queue]) {
      for (const file of await list(this.dir('pending', q))) {
        const aside = this.dir('tmp', `${newId()}.cleared`);
        if (!(await renamed(this.dir('pending', q, file), aside))) continue;
        const header = parseHeader(splitJob(await readFile(aside, 'utf8'))[0]);
        await rm(aside, { force: true });
        if (header) await this.locks.drop(header.overlapKey, header.id);
        n++;
      }
    }
    return n;
  }


  /** Resolves when a pending file appears (chokidar), after `ms`, or on abort. */
  async waitForJob(_queues: readonly string[] | null, ms: number, signal: AbortSignal): Promise<void> {
    if (!this.watcher) {
      // A file added before the watcher was ready would be missed: start watching, then let the
      // worker look once more before it waits.
      await this.watch();
      return;
    }
    await this.wakeup.wait(ms, signal);
  }

  private async watch(): Promise<void> {
    if (this.watcher) return;
    await this.open();
    const { watch } = await import('chokidar');
    this.watcher = watch(this.dir('pending'), { ignoreInitial: true, depth: 1 });
    this.watcher.on('add', () => this.wakeup.wake());
    // A watcher that fails (inotify limits) only costs wake-ups: the worker still looks every --sleep.
    this.watcher.on('error', () => undefined);
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  async close(): Promise<void> {
    this.wakeup.release();
    await this.watcher?.close();
    this.watcher = null;
  }
}
