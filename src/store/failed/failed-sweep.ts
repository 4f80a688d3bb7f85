/**
 * Retrying or forgetting every failed job that matches a filter, written once for every store: the
 * failed store is read a page at a time (newest first, failed-view.ts) and each page requeued or
 * forgotten in one call of the store, so a million failures never sit in memory. How far a run got
 * is kept in the records (`sweep / <action>-<hash of the filter>`), written after each page: running the
 * same command again, or opening its dashboard page after a restart, continues from there. A run
 * whose beat is fresh belongs to the process running it; one silent for STALE_MS is taken over.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FailedFilter, FailedStore } from '../driver.ts';
import { PAGE_MAX } from './failed-view.ts';
import type { RecordStore } from '../record-store.ts';
import type { Clock } from '../../infra/clock.ts';

export type SweepAction = 'retry' | 'forget';

export interface SweepRun {
  /** `<action>-<hash of the filter>`: the same command names the same run. */
  id: string;
  action: SweepAction;
  /** As given; `until` is pinned to the start when none was given, so later failures are not swept. */
  filter: FailedFilter;
  /** Matches when the run started. */
  total: number;
  /** Failed jobs handled so far, of `total`. */
  handled: number;
  retried: number;
  /** Left failed: a pending or running job holds their overlap key. */
  overlapping: number;
  /** Gone meanwhile (retried or forgotten elsewhere). */
  missing: number;
  forgotten: number;
  /** Where the next page starts (null: from the newest). */
  cursor: string | null;
  owner: string;
  startedAt: number;
  beatAt: number;
  finishedAt: number | null;
  error: string | null;
}

const NAMESPACE = 'sweep';
/** A run not written for this long is taken for dead, and the next caller continues it. */
export const STALE_MS = 30_000;
/** A finished run is shown this long; an unfinished one kept this long after its last beat. */
const KEEP_MS = 86_400_000;
const UNFINISHED_KEEP_MS = 7 * KEEP_MS;

export type SweepStart = { run: SweepRun; resumed: boolean; busy?: undefined } | { busy: SweepRun; run?: undefined };

export class FailedSweeps {
  private readonly owner = randomBytes(6).toString('hex');
  private readonly versions = new Map<string, string>();

  /** `pageSize`: failures read, then requeued or forgotten, per call of the store. */
  constructor(private readonly store: FailedStore & RecordStore, private readonly clock: Clock, private readonly pageSize = PAGE_MAX) {}

  /** The run's id: from `key` (what the person asked, e.g. `--since 6h` before it is read as a time), else the filter. */
  static idOf(action: SweepAction, filter: FailedFilter, key?: string): string {
    const text = key ?? JSON.stringify([filter.queue, filter.name, filter.error, filter.since, filter.until]);
    return `${action}-${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
  }

  async get(id: string): Promise<SweepRun | null> {
    const record = await this.store.getRecord(NAMESPACE, id);
    if (!record) return null;
    this.versions.set(id, record.version);
    return JSON.parse(record.value) as SweepRun;
  }

  /** Whether a run is unfinished with no process writing it. */
  stalled(run: SweepRun): boolean {
    return run.finishedAt === null && this.clock.now() - run.beatAt > STALE_MS;
  }

  /**
   * The run of this action and filter: the unfinished one continued (unless another process is
   * running it: `busy`), or a new one counted from the store.
   */
  async start(action: SweepAction, filter: FailedFilter, key?: string): Promise<SweepStart> {
    const id = FailedSweeps.idOf(action, filter, key);
    for (let tries = 0; tries < 10; tries++) {
      const last = await this.get(id);
      const now = this.clock.now();
      if (last && last.finishedAt === null) {
        if (last.owner !== this.owner && !this.stalled(last)) return { busy: last };
        const run = await this.takeOver(last);
        if (run) return { run, resumed: true };
        continue;
      }
      const pinned = { ...filter, until: filter.until ?? now + 1 };
      const total = (await this.store.countFailed(pinned)).total;
      const run: SweepRun = {
        id, action, filter: pinned, total, handled: 0, retried: 0, overlapping: 0, missing: 0, forgotten: 0,
        cursor: null, owner: this.owner, startedAt: now, beatAt: now, finishedAt: null, error: null,
      };
      if (await this.write(run, last)) return { run, resumed: false };
    }
    throw new Error(`The ${action} run ${id} kept changing under other writers`);
  }

  /** The run, now this process's to work (null: another process wrote it first). */
  async takeOver(last: SweepRun): Promise<SweepRun | null> {
    const run = { ...last, owner: this.owner, beatAt: this.clock.now(), error: null };
    return (await this.write(run, last)) ? run : null;
  }

  /**
   * Works the run page by page to its end, `onPage` told after each. Stops early, unfinished,
   * when `signal` aborts or another process took the run over; throws what the store threw,
   * with the run kept to continue.
   */
  async work(run: SweepRun, onPage?: (run: SweepRun) => void, signal?: AbortSignal): Promise<SweepRun> {
    try {
      while (run.finishedAt === null && !signal?.aborted) {
        const page = await this.store.listFailed({ ...run.filter, after: run.cursor, limit: this.pageSize });
        const ids = page.jobs.map((f) => f.id);
        const next = { ...run, cursor: page.next, handled: run.handled + ids.length, beatAt: this.clock.now() };
        if (run.action === 'retry') {
          for (const outcome of await this.store.requeueFailed(ids, this.clock.now())) {
            if (typeof outcome === 'object') next.retried++;
            else next[outcome]++;
          }
        } else {
          for (const gone of await this.store.forgetFailed(ids)) {
            if (gone) next.forgotten++;
            else next.missing++;
          }
        }
        if (page.next === null) next.finishedAt = this.clock.now();
        if (!(await this.write(next, run))) {
          const now = await this.get(run.id);
          if (now?.owner !== this.owner) return now ?? run; // taken over: the other process goes on
          if (!(await this.write(next, now))) return now;
        }
        run = next;
        onPage?.(run);
      }
    } catch (error) {
      const failed = { ...run, error: error instanceof Error ? error.message : String(error) };
      await this.write(failed, run).catch(() => false);
      throw error;
    }
    return run;
  }

  private async write(run: SweepRun, last: SweepRun | null): Promise<boolean> {
    const version = last ? this.versions.get(run.id) ?? null : null;
    const ttl = run.finishedAt === null ? UNFINISHED_KEEP_MS : KEEP_MS;
    if (!(await this.store.casRecord(NAMESPACE, run.id, version, JSON.stringify(run), ttl))) return false;
    const written = await this.store.getRecord(NAMESPACE, run.id);
    if (written) this.versions.set(run.id, written.version);
    return true;
  }
}
