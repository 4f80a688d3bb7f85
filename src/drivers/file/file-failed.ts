/**
 * The `file` driver's failed store behind `job:failed`, `job:forget`, `job:flush` and `job:retry`
 * (store-services.ts): `failed/<queue>/<id>.<attempts>.job`, the job file as it was, beside
 * `<id>.err`, its error and failed time. A requeue takes the job's overlap key, then renames its
 * file into pending/ (one rename: it is failed or queued, never both; of two callers one wins).
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../../infra/clock.ts';
import type { FailedCounts, FailedFilter, FailedJob, FailedPage, FailedQuery, FailedStore, Requeued } from '../../store/driver.ts';
import { countFailedIn, pageFailed } from '../admin-shared.ts';
import type { FileLocks } from './file-locks.ts';
import { list, pad, parseHeader, readJson, renamed, splitJob } from './file-store.ts';

const ID = /^[0-9a-z]{8,40}$/;
/** Failed jobs read in parallel when all are read. */
const READ_AT_ONCE = 64;

/** What the failed store needs of the driver. */
export interface FileQueue {
  readonly root: string;
  readonly clock: Clock;
  open(): Promise<void>;
}

export class FileFailedStore implements FailedStore {
  constructor(private readonly queue: FileQueue, private readonly locks: FileLocks) {}

  private dir(...parts: string[]): string {
    return path.join(this.queue.root, ...parts);
  }

  /** Every failed job, read from its files. */
  private async all(): Promise<FailedJob[]> {
    await this.queue.open();
    const files = [...(await this.index()).values()];
    const out: FailedJob[] = [];
    for (let i = 0; i < files.length; i += READ_AT_ONCE) {
      for (const failed of await Promise.all(files.slice(i, i + READ_AT_ONCE).map((f) => this.read(f.queue, f.file)))) if (failed) out.push(failed);
    }
    return out;
  }

  async listFailed(query: FailedQuery): Promise<FailedPage> {
    return pageFailed(await this.all(), query);
  }

  async countFailed(filter: FailedFilter): Promise<FailedCounts> {
    return countFailedIn(await this.all(), filter);
  }

  async getFailed(id: string): Promise<FailedJob | null> {
    await this.queue.open();
    const found = await this.findFailed(id);
    return found && this.read(found.queue, found.file);
  }

  /** A failed job from its files (null: gone meanwhile). */
  private async read(queue: string, file: string): Promise<FailedJob | null> {
    const [id, attempts] = file.split('.');
    const text = await readFile(this.dir('failed', queue, file), 'utf8').catch(() => null);
    if (text === null) return null;
    const [head, payload] = splitJob(text);
    const header = parseHeader(head);
    const err = await readJson<{ exception: string; failedAt: number }>(this.dir('failed', queue, `${id}.err`));
    const failedAt = err?.failedAt ?? (await stat(this.dir('failed', queue, file)).then((s) => s.mtimeMs, () => 0));
    return {
      id: id!, jobId: id!, name: header?.name ?? '<unreadable job file>', queue, payload: header ? payload : text,
      exception: err?.exception ?? 'Error: the worker stopped before it recorded the error', attempts: Number(attempts),
      overlapKey: header?.overlapKey ?? null, failedAt,
    };
  }

  /** The failed files by id. */
  private async index(): Promise<Map<string, { queue: string; file: string }>> {
    const out = new Map<string, { queue: string; file: string }>();
    for (const queue of await list(this.dir('failed'))) {
      for (const file of await list(this.dir('failed', queue))) if (file.endsWith('.job')) out.set(file.split('.')[0]!, { queue, file });
    }
    return out;
  }

  /** The failed file of `id`, or null. */
  private async findFailed(id: string): Promise<{ queue: string; file: string } | null> {
    return ID.test(id) ? (await this.index()).get(id) ?? null : null;
  }

  async requeueFailed(ids: readonly string[], at: number): Promise<Requeued[]> {
    await this.queue.open();
    const index = await this.index();
    const out: Requeued[] = [];
    for (const id of ids) out.push(ID.test(id) ? await this.requeueOne(id, index.get(id) ?? null, at) : 'missing');
    return out;
  }

  private async requeueOne(id: string, found: { queue: string; file: string } | null, at: number): Promise<Requeued> {
    const failed = found && (await this.read(found.queue, found.file));
    if (!found || !failed) return 'missing';
    if (failed.overlapKey !== null) {
      const holder = await this.locks.take(found.queue, failed.overlapKey, id);
      if (holder !== null && holder !== id) return 'overlapping'; // (the same id: another caller's requeue, the rename decides)
    }
    await mkdir(this.dir('pending', found.queue), { recursive: true, mode: 0o700 });
    // A lost rename leaves a lock taken for a job that is not there: taken over as stale (file-locks.ts).
    if (!(await renamed(this.dir('failed', found.queue, found.file), this.dir('pending', found.queue, `${pad(at)}.${id}.0.job`)))) return 'missing';
    await rm(this.dir('failed', found.queue, `${id}.err`), { force: true });
    return { jobId: id };
  }

  async forgetFailed(ids: readonly string[]): Promise<boolean[]> {
    await this.queue.open();
    const index = await this.index();
    const out: boolean[] = [];
    for (const id of ids) {
      const found = ID.test(id) ? index.get(id) : undefined;
      index.delete(id);
      out.push(!!found && (await rm(this.dir('failed', found.queue, found.file)).then(() => true, () => false)));
      if (found) await rm(this.dir('failed', found.queue, `${id}.err`), { force: true });
    }
    return out;
  }
}
