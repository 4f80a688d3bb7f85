/**
 * The `file` driver: one file per job under `file_path` (default storage/jobs), no server.
 *
 * Every state change is one atomic rename, so a kill -9 at any moment leaves each job in
 * exactly one state:
 *   pending/<queue>/<due>.<id>.<attempts>.job                   waiting (sorted by due time)
 *   reserved/<queue>/<id>.<attempts>.<token>.<until>.job        held under a lease
 *   failed/<queue>/<id>.<attempts>.job (+ <id>.err)             the failed store
 *   locks/<sha1 of overlap key>.lock                            held overlap keys (exclusive create)
 * New files are written to tmp/, fsynced and renamed into place, so no half-written job is ever
 * seen. A claim is the rename pending → reserved (one claimer wins); a lapsed lease is renamed
 * back to pending. Files are 0600 and folders 0700. Idle workers wake on new pending files
 * (chokidar) instead of only sleeping.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import type { Clock } from '../clock.ts';
import { ConnectionError, coerceError } from '../errors.ts';
import type {
  ClearableQueue, Driver, FailedJob, FailedStore, Failure, NewJob, PushResult, QueueStats, ReleaseOptions,
  ReserveRequest, ReservedJob, RetryResult, WakingQueue,
} from '../driver.ts';
import { flushFailedOneByOne, hasDueFromStats, leaseFor } from '../driver.ts';
import { Wakeup } from './wakeup.ts';

interface Header {
  id: string;
  name: string;
  queue: string;
  createdAt: number;
  overlapKey: string | null;
}

const DUE_WIDTH = 15;
const pad = (n: number) => String(Math.max(0, Math.floor(n))).padStart(DUE_WIDTH, '0');
const ID = /^[0-9a-z]{8,40}$/;
/** A lock whose job is nowhere to be found is taken over after this long (its dispatch died mid-way). */
const STALE_LOCK_MS = 5_000;

export class FileDriver implements Driver, FailedStore, ClearableQueue, WakingQueue {
  readonly description: string;
  private ready: Promise<void> | null = null;
  private watcher: FSWatcher | null = null;
  private readonly wakeup = new Wakeup();

  constructor(private readonly root: string, private readonly clock: Clock) {
    this.description = `file (${root})`;
  }

  private dir(...parts: string[]): string {
    return path.join(this.root, ...parts);
  }

  private open(): Promise<void> {
    this.ready ??= (async () => {
      try {
        for (const sub of ['tmp', 'pending', 'reserved', 'failed', 'locks']) await mkdir(this.dir(sub), { recursive: true, mode: 0o700 });
      } catch (error) {
        this.ready = null;
        throw new ConnectionError(`Cannot use ${this.root} for the file driver: ${coerceError(error).message} — check file_path in application/config/job.ts`, { cause: error });
      }
    })();
    return this.ready;
  }

  /** Writes `content` to tmp/, fsyncs it, and renames it to `target` (a whole file or none). */
  private async writeAtomic(target: string, content: string): Promise<void> {
    const tmp = this.dir('tmp', `${newId()}.tmp`);
    try {
      const handle = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      await rename(tmp, target);
    } catch (error) {
      await rm(tmp, { force: true });
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new ConnectionError(`The disk holding ${this.root} is full (ENOSPC): nothing was stored — free some space and dispatch again`, { cause: error });
      }
      throw error;
    }
  }

  async push(job: NewJob): Promise<PushResult> {
    await this.open();
    const id = newId();
    if (job.overlapKey !== null) {
      const holder = await this.takeLock(job.queue, job.overlapKey, id);
      if (holder !== null) return { skipped: 'overlapping', existingId: holder };
    }
    const header: Header = { id, name: job.name, queue: job.queue, createdAt: this.clock.now(), overlapKey: job.overlapKey };
    try {
      await this.writeAtomic(this.dir('pending', job.queue, `${pad(job.scheduledAt)}.${id}.0.job`), `${JSON.stringify(header)}\n${job.payload}`);
    } catch (error) {
      if (job.overlapKey !== null) await this.dropLock(job.overlapKey, id);
      throw error;
    }
    return { id };
  }

  private lockPath(key: string): string {
    return this.dir('locks', `${createHash('sha1').update(key).digest('hex')}.lock`);
  }

  /** Creates the overlap lock for `id`; returns the id of the job already holding it, or null. */
  private async takeLock(queue: string, key: string, id: string): Promise<string | null> {
    const file = this.lockPath(key);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const handle = await open(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
        try {
          await handle.writeFile(JSON.stringify({ id, key, at: this.clock.now() }));
        } catch (error) {
          await handle.close();
          await rm(file, { force: true }); // never leave a half-written lock
          throw (error as NodeJS.ErrnoException).code === 'ENOSPC'
            ? new ConnectionError(`The disk holding ${this.root} is full (ENOSPC): nothing was stored — free some space and dispatch again`, { cause: error })
            : error;
        }
        await handle.close();
        return null;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const held = await readJson<{ id: string; at: number }>(file);
      if (!held) continue; // released meanwhile, or still being written
      if (await this.exists(queue, held.id)) return held.id;
      if (this.clock.now() - held.at < STALE_LOCK_MS) return held.id; // its dispatch may still be writing
      // The holder's dispatch died before writing its job: move the stale lock aside (one taker wins).
      const aside = `${file}.stale.${newId()}`;
      try {
        await rename(file, aside);
      } catch {
        continue;
      }
      const moved = await readJson<{ id: string }>(aside);
      await rm(aside, { force: true });
      if (moved && moved.id !== held.id) return moved.id; // not the stale one: a live lock, give up our dispatch
    }
    return null;
  }

  private async dropLock(key: string | null, id: string): Promise<void> {
    if (key === null) return;
    const file = this.lockPath(key);
    const held = await readJson<{ id: string }>(file);
    if (held?.id === id) await rm(file, { force: true });
  }

  /** Whether job `id` is pending or reserved on `queue`. */
  private async exists(queue: string, id: string): Promise<boolean> {
    const [pending, reserved] = await Promise.all([list(this.dir('pending', queue)), list(this.dir('reserved', queue))]);
    return pending.some((f) => f.split('.')[1] === id) || reserved.some((f) => f.startsWith(`${id}.`));
  }

  async reserve(request: ReserveRequest): Promise<ReservedJob[]> {
    if (request.limit <= 0) return [];
    await this.open();
    const queues = request.queues ?? (await list(this.dir('pending')));
    const now = this.clock.now();
    const candidates: { queue: string; file: string; due: number }[] = [];
    const claimed: ReservedJob[] = [];
    for (const queue of queues) {
      await this.recoverLapsed(queue, now);
      const due = (await list(this.dir('pending', queue))).filter((f) => f.endsWith('.job')).sort()
        .map((file) => ({ queue, file, due: Number(file.split('.')[0]) })).filter((c) => c.due <= now);
      if (request.queues) {
        claimed.push(...(await this.claimFiles(due, request, now, request.limit - claimed.length)));
        if (claimed.length >= request.limit) break;
      } else candidates.push(...due);
    }
    if (!request.queues) {
      candidates.sort((a, b) => a.due - b.due || a.file.localeCompare(b.file));
      claimed.push(...(await this.claimFiles(candidates, request, now, request.limit)));
    }
    return claimed;
  }

  private async claimFiles(candidates: { queue: string; file: string }[], request: ReserveRequest, now: number, limit: number) {
    const claimed: ReservedJob[] = [];
    const token = randomBytes(8).toString('hex');
    for (const { queue, file } of candidates) {
      if (claimed.length >= limit) break;
      const [due, id, attempts] = file.split('.');
      const source = this.dir('pending', queue, file);
      // Job files never change once written (only renamed), so this read is the job we claim.
      const text = await readFile(source, 'utf8').catch(() => null);
      if (text === null) continue; // another worker took it
      const [head, payload] = splitJob(text);
      const header = parseHeader(head);
      if (request.names && (!header || !request.names.includes(header.name))) continue;
      const until = now + (header ? leaseFor(request.leases, header.name) : request.leases.defaultMs);
      const tries = Number(attempts) + 1;
      const target = this.dir('reserved', queue, `${id}.${tries}.${token}.${pad(until)}.job`);
      await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      if (!(await renamed(source, target))) continue; // another worker took it
      claimed.push({
        id: id!, name: header?.name ?? '<unreadable job file>', queue, payload: header ? payload : text, attempts: tries,
        scheduledAt: Number(due), createdAt: header?.createdAt ?? 0, overlapKey: header?.overlapKey ?? null, token, reservedUntil: until,
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
    return this.dir('reserved', job.queue, `${job.id}.${job.attempts}.${job.token}.${pad(job.reservedUntil)}.job`);
  }

  async ack(job: ReservedJob): Promise<boolean> {
    try {
      await unlink(this.reservedPath(job));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    await this.dropLock(job.overlapKey, job.id);
    return true;
  }

  async release(job: ReservedJob, options: ReleaseOptions): Promise<boolean> {
    const attempts = options.countAttempt ? job.attempts : Math.max(0, job.attempts - 1);
    return renamed(this.reservedPath(job), this.dir('pending', job.queue, `${pad(options.at)}.${job.id}.${attempts}.job`));
  }

  async fail(job: ReservedJob, failure: Failure): Promise<boolean> {
    const target = this.dir('failed', job.queue, `${job.id}.${job.attempts}.job`);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    if (!(await renamed(this.reservedPath(job), target))) return false;
    await this.writeAtomic(this.dir('failed', job.queue, `${job.id}.err`), JSON.stringify({ exception: failure.exception, failedAt: this.clock.now() }));
    await this.dropLock(job.overlapKey, job.id);
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
        if (!f.endsWith('.job')) continue;
        if (Number(f.split('.')[0]) <= now) s.ready++;
        else s.scheduled++;
      }
      for (const f of await list(this.dir('reserved', queue))) {
        if (Number(f.split('.')[3]) > now) s.reserved++;
        else s.ready++;
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
        if (header) await this.dropLock(header.overlapKey, header.id);
        n++;
      }
    }
    return n;
  }

  async listFailed(limit = 1000): Promise<FailedJob[]> {
    await this.open();
    const out: FailedJob[] = [];
    for (const queue of await list(this.dir('failed'))) {
      for (const file of (await list(this.dir('failed', queue))).filter((f) => f.endsWith('.job'))) {
        const [id, attempts] = file.split('.');
        const text = await readFile(this.dir('failed', queue, file), 'utf8').catch(() => null);
        if (text === null) continue;
        const [head, payload] = splitJob(text);
        const header = parseHeader(head);
        const err = await readJson<{ exception: string; failedAt: number }>(this.dir('failed', queue, `${id}.err`));
        const failedAt = err?.failedAt ?? (await stat(this.dir('failed', queue, file)).then((s) => s.mtimeMs, () => 0));
        out.push({
          id: id!, jobId: id!, name: header?.name ?? '<unreadable job file>', queue, payload: header ? payload : text,
          exception: err?.exception ?? 'Error: the worker stopped before it recorded the error', attempts: Number(attempts),
          overlapKey: header?.overlapKey ?? null, failedAt,
        });
      }
    }
    return out.sort((a, b) => a.failedAt - b.failedAt || a.id.localeCompare(b.id)).slice(0, limit);
  }

  /** The failed file of `id`, or null. */
  private async findFailed(id: string): Promise<{ queue: string; file: string } | null> {
    if (!ID.test(id)) return null;
    for (const queue of await list(this.dir('failed'))) {
      const file = (await list(this.dir('failed', queue))).find((f) => f.startsWith(`${id}.`) && f.endsWith('.job'));
      if (file) return { queue, file };
    }
    return null;
  }

  async retryFailed(ids: readonly string[] | 'all'): Promise<RetryResult> {
    await this.open();
    const result: RetryResult = { retried: [], missing: [], overlapping: [] };
    const wanted = ids === 'all' ? (await this.listFailed(Number.MAX_SAFE_INTEGER)).map((f) => f.id) : ids;
    for (const failedId of wanted) {
      const found = await this.findFailed(failedId);
      const aside = this.dir('tmp', `${newId()}.retry`);
      if (!found || !(await renamed(this.dir('failed', found.queue, found.file), aside))) {
        result.missing.push(failedId);
        continue;
      }
      const [head, payload] = splitJob(await readFile(aside, 'utf8'));
      const header = parseHeader(head);
      const pushed = header
        ? await this.push({ name: header.name, queue: found.queue, payload, scheduledAt: this.clock.now(), overlapKey: header.overlapKey })
        : null;
      if (!pushed || pushed.skipped) {
        await rename(aside, this.dir('failed', found.queue, found.file)); // left failed, as it was
        (pushed ? result.overlapping : result.missing).push(failedId);
        continue;
      }
      await rm(aside, { force: true });
      await rm(this.dir('failed', found.queue, `${failedId}.err`), { force: true });
      result.retried.push({ failedId, jobId: pushed.id });
    }
    return result;
  }

  async forgetFailed(id: string): Promise<boolean> {
    await this.open();
    const found = await this.findFailed(id);
    if (!found) return false;
    const removed = await rm(this.dir('failed', found.queue, found.file)).then(() => true, () => false);
    await rm(this.dir('failed', found.queue, `${id}.err`), { force: true });
    return removed;
  }

  flushFailed(olderThanMs: number | null): Promise<number> {
    return flushFailedOneByOne(this, olderThanMs);
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

  async restartRequestedAt(): Promise<number | null> {
    await this.open();
    try {
      return Number(await readFile(this.dir('restart'), 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async requestRestart(at: number): Promise<void> {
    await this.open();
    await this.writeAtomic(this.dir('restart'), String(at));
  }

  async close(): Promise<void> {
    this.wakeup.release();
    await this.watcher?.close();
    this.watcher = null;
  }
}

/** A sortable unique id: milliseconds in base 36, then 8 random hex digits. */
function newId(): string {
  return `${Date.now().toString(36).padStart(9, '0')}${randomBytes(4).toString('hex')}`;
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function renamed(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** A job file is a JSON header line, then the payload text as stored. */
function splitJob(text: string): [string, string] {
  const newline = text.indexOf('\n');
  return newline < 0 ? [text, ''] : [text.slice(0, newline), text.slice(newline + 1)];
}

function parseHeader(line: string): Header | null {
  try {
    const header = JSON.parse(splitJob(line)[0]) as Header;
    return typeof header?.name === 'string' ? header : null;
  } catch {
    return null;
  }
}
