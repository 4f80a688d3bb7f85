/**
 * The `file` driver's failed store behind `job:failed`, `job:retry`, `job:forget` and
 * `job:flush`: `failed/<queue>/<id>.<attempts>.job`, the job file as it was, beside
 * `<id>.err`, its error and failed time. A retry moves the file aside, pushes the job again and
 * puts the file back if the push did not happen.
 */
import { readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../../infra/clock.ts';
import type { FailedJob, FailedStore, NewJob, PushResult, RetryResult } from '../../store/driver.ts';
import { list, newId, parseHeader, readJson, renamed, splitJob } from './file-store.ts';
import { flushFailedOneByOne } from '../shared.ts';

const ID = /^[0-9a-z]{8,40}$/;

/** What the failed store needs of the driver. */
export interface FileQueue {
  readonly root: string;
  readonly clock: Clock;
  open(): Promise<void>;
  push(job: NewJob): Promise<PushResult>;
}

export class FileFailedStore implements FailedStore {
  constructor(private readonly queue: FileQueue) {}

  private dir(...parts: string[]): string {
    return path.join(this.queue.root, ...parts);
  }

  async listFailed(limit = 1000): Promise<FailedJob[]> {
    await this.queue.open();
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

  async retryFailed(ids: readonly string[]): Promise<RetryResult> {
    await this.queue.open();
    const result: RetryResult = { retried: [], missing: [], overlapping: [] };
    for (const failedId of ids) {
      const found = await this.findFailed(failedId);
      const aside = this.dir('tmp', `${newId()}.retry`);
      if (!found || !(await renamed(this.dir('failed', found.queue, found.file), aside))) {
        result.missing.push(failedId);
        continue;
      }
      const [head, payload] = splitJob(await readFile(aside, 'utf8'));
      const header = parseHeader(head);
      const pushed = header
        ? await this.queue.push({ name: header.name, queue: found.queue, payload, scheduledAt: this.queue.clock.now(), overlapKey: header.overlapKey })
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
    await this.queue.open();
    const found = await this.findFailed(id);
    if (!found) return false;
    const removed = await rm(this.dir('failed', found.queue, found.file)).then(() => true, () => false);
    await rm(this.dir('failed', found.queue, `${id}.err`), { force: true });
    return removed;
  }

  flushFailed(olderThanMs: number | null): Promise<number> {
    return flushFailedOneByOne(this, olderThanMs);
  }
}
