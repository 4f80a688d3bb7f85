/**
 * The scheduler's state, built once over the queue store's records (core/record-store.ts), so
 * every driver keeps it without code of its own. Three namespaces:
 *
 *   schedule-claim  `<task>@<tick>`  created by a compare-and-set against "absent": of any number
 *                                    of racing hosts exactly one creates it and runs the tick;
 *                                    it lives CLAIM_KEEP_MS (the record's time to live)
 *   schedule-lock   `<lock name>`    a run lock, `{ name, owner, acquiredAt, expiresAt }`: taken
 *                                    when absent or lapsed, renewed and released by its owner,
 *                                    each step a compare-and-set on the version it read
 *   schedule-runs   `<task>`         the task's newest runs (HISTORY), newest first, one JSON list
 *
 * Every time decision uses the clock the store was made with: a lock lapses when the expiresAt
 * in its value is past by that clock, so tests move time instead of sleeping. The records' own
 * time to live (counted on the store's side: Redis's and memcached's clocks) is a backstop
 * only, twice the lock's TTL, removing a lock nobody looks at again.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../infra/clock.ts';
import { RECORD_ID_MAX, type RecordStore } from '../store/record-store.ts';

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

export const CLAIMS = 'schedule-claim';
export const LOCKS = 'schedule-lock';
export const RUNS = 'schedule-runs';

/**
 * How long a claim of (task, tick) is kept: longer than any host can be late for the minute of
 * a tick. (Catching up a missed tick is decided by the run history, not by claims.)
 */
export const CLAIM_KEEP_MS = 3_600_000;

/**
 * Runs kept per task. A run's output is at most execute.ts's OUTPUT_TAIL (4,000 characters,
 * at most 6 bytes each in JSON), so the list stays under a record's 512 KiB.
 */
export const HISTORY = 20;

/** Locks listed at most (one per task that runs without overlapping). */
const LOCKS_LISTED = 1_000;

/** The lock names of the scheduler: one per task that runs without overlapping. */
export const overlapLock = (task: string) => `overlap:${task}`;

/** The record id of a name: the name itself, or, past a record id's length, its start and a hash. */
export function recordId(name: string): string {
  return name.length <= RECORD_ID_MAX ? name : `${name.slice(0, 140)}#${createHash('sha1').update(name).digest('hex')}`;
}

export const claimId = (task: string, tick: number) => recordId(`${task}@${tick}`);

/** Merges `runs` into the stored list `raw` (the same id replaced), newest first, the newest `keep`. */
export function mergeRuns(raw: string | null, runs: RunRecord[], keep = HISTORY): RunRecord[] {
  const ids = new Set(runs.map((r) => r.id));
  const kept = (parse<RunRecord[]>(raw) ?? []).filter((r) => !ids.has(r.id));
  return [...runs, ...kept].sort((a, b) => b.startedAt - a.startedAt).slice(0, keep);
}

/** The record's time to live for a lock lapsing at `expiresAt`: twice the time left, the backstop. */
export const lockBackstopMs = (expiresAt: number, now: number) => 2 * Math.max(1, expiresAt - now);

export class ScheduleStore {
  /** When this instance next drops expired claims (the first claim, then once per CLAIM_KEEP_MS). */
  private nextSweep = 0;

  constructor(private readonly records: RecordStore, private readonly clock: Clock) {}

  /**
   * True for exactly one caller per (task, tick), whatever the number of processes or hosts
   * racing. A claim is kept `keepMs` at least, so a late host cannot take the tick again.
   */
  async claim(task: string, tick: number, owner: string, keepMs = CLAIM_KEEP_MS): Promise<boolean> {
    const now = this.clock.now();
    if (now >= this.nextSweep) {
      this.nextSweep = now + keepMs;
      // Listing a namespace drops its expired records where a store keeps them until then
      // (database rows, files); a claim is never read again once its minute is over.
      await this.records.listRecords(CLAIMS, 1);
    }
    return this.records.casRecord(CLAIMS, claimId(task, tick), null, JSON.stringify({ task, tick, owner, claimedAt: now }), keepMs);
  }

  /** Takes lock `name` for `owner` until now + `ttlMs`, unless another owner holds it unexpired. */
  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    for (let i = 0; i < 3; i++) {
      const now = this.clock.now();
      const stored = await this.records.getRecord(LOCKS, recordId(name));
      const held = parse<LockInfo>(stored?.value ?? null);
      if (held && held.expiresAt > now) return false;
      const lock: LockInfo = { name, owner, acquiredAt: now, expiresAt: now + ttlMs };
      // Of racers that read the same version (or none), one writes; the others look again.
      if (await this.records.casRecord(LOCKS, recordId(name), stored?.version ?? null, JSON.stringify(lock), lockBackstopMs(lock.expiresAt, now))) return true;
    }
    return false;
  }

  /** Extends `owner`'s lock to now + `ttlMs`; false when `owner` no longer holds it. */
  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const stored = await this.records.getRecord(LOCKS, recordId(name));
    const held = parse<LockInfo>(stored?.value ?? null);
    if (!stored || held?.owner !== owner) return false;
    const now = this.clock.now();
    const lock = { ...held, expiresAt: now + ttlMs };
    return this.records.casRecord(LOCKS, recordId(name), stored.version, JSON.stringify(lock), lockBackstopMs(lock.expiresAt, now));
  }

  /** Releases the lock if `owner` still holds it; false (and nothing changed) otherwise. */
  async release(name: string, owner: string): Promise<boolean> {
    const stored = await this.records.getRecord(LOCKS, recordId(name));
    if (!stored || parse<LockInfo>(stored.value)?.owner !== owner) return false;
    return this.records.deleteRecord(LOCKS, recordId(name), stored.version);
  }

  /** Every lock held, lapsed ones included until somebody takes or clears them (or the backstop removes them). */
  async locks(): Promise<LockInfo[]> {
    return (await this.listed()).map(({ lock }) => lock);
  }

  /** Removes the locks named (every lock when none is named), each unless it changed meanwhile; returns those removed. */
  async clearLocks(names?: string[]): Promise<LockInfo[]> {
    const removed: LockInfo[] = [];
    for (const { lock, id, version } of await this.listed()) {
      if (names && !names.includes(lock.name)) continue;
      if (await this.records.deleteRecord(LOCKS, id, version)) removed.push(lock);
    }
    return removed;
  }

  /** Stores a run (a new one, or the same id again when it ends), keeping the newest `keep` of its task. */
  async saveRun(run: RunRecord, keep = HISTORY): Promise<void> {
    // Each try fails only because another run of the task was saved first: one writer wins each round.
    for (let i = 0; i < 100; i++) {
      const stored = await this.records.getRecord(RUNS, recordId(run.task));
      const runs = mergeRuns(stored?.value ?? null, [run], keep);
      if (await this.records.casRecord(RUNS, recordId(run.task), stored?.version ?? null, JSON.stringify(runs), null)) return;
    }
    throw new Error(`The run of ${run.task} could not be recorded: its history kept changing under 100 tries`);
  }

  /** The newest `limit` runs of `task`, newest first. */
  async runs(task: string, limit: number): Promise<RunRecord[]> {
    const stored = await this.records.getRecord(RUNS, recordId(task));
    return (parse<RunRecord[]>(stored?.value ?? null) ?? []).slice(0, limit);
  }

  private async listed() {
    const records = await this.records.listRecords(LOCKS, LOCKS_LISTED);
    return records.flatMap(({ id, version, value }) => {
      const lock = parse<LockInfo>(value);
      return lock ? [{ id, version, lock }] : [];
    }).sort((a, b) => (a.lock.name < b.lock.name ? -1 : 1));
  }
}

function parse<T>(raw: string | null): T | null {
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null; // unreadable: as absent, so the next write replaces it
  }
}
