/**
 * The scheduler's store over each driver's records: every store runs these cases against its
 * real server, through ScheduleStore (src/schedule/store.ts) over that driver's RecordStore.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FullDriver } from '../../src/store/driver.ts';
import { ScheduleStore, type RunRecord } from '../../src/schedule/store.ts';
import { TestClock } from '../helpers/clock.ts';

export interface StoreHarness {
  /** A new driver on the same server and names, with its own connections (as another host's); closed by teardown. */
  driver(clock: TestClock): Promise<FullDriver>;
  /** The config of an app on this store, for claimers in other processes. */
  config: Record<string, unknown>;
  teardown(): Promise<void>;
}

const CLAIMER = fileURLToPath(new URL('./claimer.ts', import.meta.url));

/**
 * `processes` processes, each with `perProcess` stores of their own, claim (task, tick) at the
 * same moment (each waits for "go" once every process has its connections open); the winners.
 */
export async function raceInProcesses(config: Record<string, unknown>, task: string, tick: number, processes: number, perProcess: number): Promise<string[]> {
  const children = Array.from({ length: processes }, () => fork(CLAIMER, [JSON.stringify({ config, task, tick, claimers: perProcess })], {
    execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'], cwd: path.dirname(CLAIMER),
  }));
  const results = children.map((child) => new Promise<string[]>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`claimer exited ${code}: ${out}`))));
  }));
  await Promise.all(children.map((child) => new Promise((resolve) => child.once('message', resolve))));
  for (const child of children) child.send('go');
  return (await Promise.all(results)).flat();
}

const run = (over: Partial<RunRecord> = {}): RunRecord => ({
  id: randomUUID(), task: 'nightly', tick: 0, startedAt: 0, finishedAt: null, outcome: 'running', durationMs: null, output: '', host: 'h1', ...over,
});

export function storeContract(label: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`schedule store contract: ${label}`, () => {
    let harness: StoreHarness;
    let clock: TestClock;
    let a: ScheduleStore;
    let b: ScheduleStore;
    let n = 0;
    /** Each case its own task and lock names. */
    const name = (base: string) => `${base}-${++n}`;

    /** A scheduler's store on its own driver, as another host's. */
    const host = async () => new ScheduleStore(await harness.driver(clock), clock);

    beforeAll(async () => {
      harness = await makeHarness();
      clock = new TestClock();
      a = await host();
      b = await host();
    });
    afterAll(async () => {
      await harness?.teardown();
    });

    it('gives each (task, tick) to exactly one of 16 claimers racing on 4 connections', async () => {
      const task = name('invoices');
      const tick = Date.UTC(2026, 0, 1, 2, 0);
      const stores = [a, b, await host(), await host()];
      const wins = await Promise.all(Array.from({ length: 16 }, (_, i) => stores[i % 4]!.claim(task, tick, `c${i}`, 60_000)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      // The next tick is a new claim; the same tick stays taken.
      expect(await b.claim(task, tick + 60_000, 'late', 60_000)).toBe(true);
      expect(await a.claim(task, tick, 'late', 60_000)).toBe(false);
      // Another task's claim of the same tick is its own, a name longer than a record id too.
      expect(await a.claim(name('other'), tick, 'x', 60_000)).toBe(true);
      const long = name(`job:flush --hours=168 ${'x'.repeat(300)}`);
      expect(await a.claim(long, tick, 'x', 60_000)).toBe(true);
      expect(await b.claim(long, tick, 'y', 60_000)).toBe(false);
      expect(await b.claim(`${long}y`, tick, 'y', 60_000)).toBe(true);
    });

    it('gives each (task, tick) to exactly one of 8 claimers in 4 processes', async () => {
      const task = name('race');
      const tick = Date.UTC(2026, 0, 1, 3, 0);
      const winners = await raceInProcesses(harness.config, task, tick, 4, 2);
      expect(winners).toHaveLength(1);
      expect(await a.claim(task, tick, 'here', 60_000)).toBe(false);
    }, 60_000);

    it('holds a lock for its owner only, until its TTL lapses', async () => {
      const lock = name('overlap:cleanup');
      expect(await a.acquire(lock, 'run-1', 10_000)).toBe(true);
      expect(await b.acquire(lock, 'run-2', 10_000)).toBe(false);
      clock.advance(9_000);
      expect(await b.acquire(lock, 'run-2', 10_000)).toBe(false);
      expect(await a.renew(lock, 'run-1', 10_000)).toBe(true);
      clock.advance(9_000);
      expect(await b.acquire(lock, 'run-2', 10_000)).toBe(false); // renewed: not lapsed
      clock.advance(1_500);
      expect(await b.acquire(lock, 'run-2', 10_000)).toBe(true); // lapsed: taken over
      // The old owner, finishing late, can neither renew nor release the new owner's lock.
      expect(await a.renew(lock, 'run-1', 10_000)).toBe(false);
      expect(await a.release(lock, 'run-1')).toBe(false);
      expect(await a.acquire(lock, 'run-1', 10_000)).toBe(false);
      expect((await a.locks()).find((l) => l.name === lock)).toMatchObject({ owner: 'run-2' });
      expect(await b.release(lock, 'run-2')).toBe(true);
      expect(await b.release(lock, 'run-2')).toBe(false);
      expect((await a.locks()).some((l) => l.name === lock)).toBe(false);
      expect(await a.acquire(lock, 'run-3', 10_000)).toBe(true);
      await a.release(lock, 'run-3');
    });

    it('lets exactly one of 12 racers take a free lock, and one take a lapsed one', async () => {
      const lock = name('overlap:race');
      const stores = [a, b, await host()];
      const first = await Promise.all(Array.from({ length: 12 }, (_, i) => stores[i % 3]!.acquire(lock, `r${i}`, 5_000)));
      expect(first.filter(Boolean)).toHaveLength(1);
      clock.advance(6_000);
      const second = await Promise.all(Array.from({ length: 12 }, (_, i) => stores[i % 3]!.acquire(lock, `s${i}`, 5_000)));
      expect(second.filter(Boolean)).toHaveLength(1);
      const holder = `s${second.indexOf(true)}`;
      expect((await a.locks()).find((l) => l.name === lock)?.owner).toBe(holder);
      expect(await a.release(lock, holder)).toBe(true);
    });

    it('lists locks with holder and age, and clears them by name or all', async () => {
      const one = name('overlap:one');
      const two = name('overlap:two');
      const start = clock.now();
      await a.acquire(one, 'run-a', 60_000);
      clock.advance(2_000);
      await b.acquire(two, 'run-b', 60_000);
      const listed = await a.locks();
      const first = listed.find((l) => l.name === one)!;
      expect(first).toMatchObject({ owner: 'run-a' });
      expect(first.acquiredAt).toBeGreaterThanOrEqual(start);
      expect(first.acquiredAt).toBeLessThan(start + 1_000);
      expect(first.expiresAt - first.acquiredAt).toBe(60_000);
      expect(listed.find((l) => l.name === two)).toMatchObject({ owner: 'run-b' });
      const removed = await a.clearLocks([one]);
      expect(removed.map((l) => l.name)).toEqual([one]);
      expect(await a.release(one, 'run-a')).toBe(false);
      expect(await b.acquire(one, 'run-c', 60_000)).toBe(true);
      const all = await b.clearLocks();
      expect(all.map((l) => l.name).sort()).toEqual(expect.arrayContaining([one, two]));
      expect((await a.locks()).filter((l) => l.name === one || l.name === two)).toEqual([]);
      expect(await a.renew(two, 'run-b', 60_000)).toBe(false);
    });

    it('keeps runs from start to end, newest first, at most `keep` per task', async () => {
      const task = name('report');
      const started = run({ task, tick: 60_000, startedAt: 61_000 });
      await a.saveRun(started, 3);
      expect(await b.runs(task, 5)).toEqual([started]);
      const ended = { ...started, finishedAt: 64_000, outcome: 'success' as const, durationMs: 3_000, output: 'done\n' };
      await a.saveRun(ended, 3);
      expect(await b.runs(task, 5)).toEqual([ended]);
      for (let i = 2; i <= 5; i++) await b.saveRun(run({ task, tick: i * 60_000, startedAt: i * 60_000 + 1_000, outcome: 'failure', output: `boom ${i}` }), 3);
      const kept = await a.runs(task, 10);
      expect(kept.map((r) => r.tick)).toEqual([300_000, 240_000, 180_000]);
      expect(await a.runs(task, 1)).toEqual([kept[0]]);
      expect(await a.runs(name('never'), 5)).toEqual([]);
    });

    it('keeps every run that 12 hosts save at once, and the newest 20 of a task by default', async () => {
      const task = name('every-host');
      const stores = [a, b, await host()];
      const runs = Array.from({ length: 12 }, (_, i) => run({ task, tick: 60_000, startedAt: 61_000 + i, host: `h${i}` }));
      await Promise.all(runs.map((r, i) => stores[i % 3]!.saveRun(r)));
      expect((await a.runs(task, 50)).map((r) => r.host)).toEqual(runs.map((r) => r.host).reverse());
      for (let i = 12; i < 30; i++) await b.saveRun(run({ task, tick: 60_000, startedAt: 61_000 + i }));
      expect(await a.runs(task, 50)).toHaveLength(20);
    });
  });
}
