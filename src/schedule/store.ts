/**
 * The capability every driver gives the scheduler: a claim of (task, tick) that exactly one of
 * any number of racing hosts wins, run locks that belong to their run and lapse after a TTL, and
 * a bounded history of runs. Every time decision uses the clock the store was made with, so
 * tests move time instead of sleeping; server-side expiries (Redis PX, memcached lifetimes) are
 * only a backstop for keys nobody looks at again.
 */
import type { Clock } from '../infra/clock.ts';

/** A held (or lapsed but not yet taken) run lock, for `schedule:clear-locks` and the dashboard. */
export interface LockInfo {
  /** The lock's name (`overlap:<task>`). */
  name: string;
  /** The run that holds it. */
  owner: string;
  /** When it was taken (epoch ms). */
  acquiredAt: number;
  /** When it lapses unless renewed (epoch ms). */
  expiresAt: number;
}

export type RunOutcome = 'running' | 'success' | 'failure' | 'dispatched' | 'skipped';

/** One run of a task: written when it starts and again when it ends. */
export interface RunRecord {
  /** Unique per run; also the owner token of its lock. */
  id: string;
  task: string;
  /** The tick (epoch ms of the scheduled time) the run is for. */
  tick: number;
  startedAt: number;
  finishedAt: number | null;
  outcome: RunOutcome;
  durationMs: number | null;
  /** The end of the output (commands), the error (failures), or what happened (skips, dispatches). */
  output: string;
  /** The host that ran it. */
  host: string;
}

export interface ScheduleStore {
  /** Where the store keeps its records, for messages. */
  readonly description: string;
  /**
   * True for exactly one caller per (task, tick), whatever the number of processes or hosts
   * racing. A claim is kept `keepMs` at least, so a late host cannot take the tick again.
   */
  claim(task: string, tick: number, owner: string, keepMs: number): Promise<boolean>;
  /** Takes lock `name` for `owner` until now + `ttlMs`, unless another owner holds it unexpired. */
  acquire(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Extends `owner`'s lock to now + `ttlMs`; false when `owner` no longer holds it. */
  renew(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock if `owner` still holds it; false (and nothing changed) otherwise. */
  release(name: string, owner: string): Promise<boolean>;
  /** Every lock held, lapsed ones included until somebody takes or clears them. */
  locks(): Promise<LockInfo[]>;
  /** Removes the locks named (every lock when none is named); returns those removed. */
  clearLocks(names?: string[]): Promise<LockInfo[]>;
  /** Stores a run (a new one, or the same id again when it ends), keeping the newest `keep` of its task. */
  saveRun(run: RunRecord, keep: number): Promise<void>;
  /** The newest `limit` runs of `task`, newest first. */
  runs(task: string, limit: number): Promise<RunRecord[]>;
  close(): Promise<void>;
}

/** How long a claim of (task, tick) is kept: longer than any host can be late for a tick. */
export const CLAIM_KEEP_MS = 2 * 24 * 3_600_000;

/** The lock names of the scheduler: one per task that runs without overlapping. */
export const overlapLock = (task: string) => `overlap:${task}`;

/**
 * Clears locks by releasing each as its holder (`names`, or all): a lock taken over by
 * another owner meanwhile is left alone. For stores whose release matches the owner.
 */
export async function clearLocksVia(store: Pick<ScheduleStore, 'locks' | 'release'>, names?: string[]): Promise<LockInfo[]> {
  const removed: LockInfo[] = [];
  for (const lock of await store.locks()) {
    if (names && !names.includes(lock.name)) continue;
    if (await store.release(lock.name, lock.owner)) removed.push(lock);
  }
  return removed;
}

export type StoreFactory = (clock: Clock) => ScheduleStore;
