/**
 * The flow conformance suite: the record store and bulk push (src/store/record-store.ts) on every
 * driver, against its real server, through the capability interfaces only. Batches, limits and
 * progress are built over these two in src/flows/, and their own cases on every store live
 * in flow-behaviour-contract.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FullDriver, Leases, NewJob } from '../../src/store/driver.ts';
import type { RecordStore } from '../../src/store/record-store.ts';
import type { BulkQueue } from '../../src/store/driver.ts';
import { TestClock } from '../helpers/clock.ts';

export type FlowTestDriver = FullDriver & RecordStore & BulkQueue;

export interface FlowHarness {
  /** A new driver instance on the same store (as another worker process or host would have). */
  driver(clock: TestClock): FlowTestDriver;
  /** Drops everything the harness made. */
  teardown(): Promise<void>;
  /** Time to live counts on the server's own clock (Redis, memcached): real time must pass, not only the test's clock. */
  serverClock?: boolean;
}

/**
 * For a describe: `count` driver instances on one store (as several app processes or hosts would
 * have), on one test clock, handed to `use` before its cases run; the store is dropped after them.
 */
export function onDrivers(makeHarness: () => Promise<FlowHarness>, use: (drivers: FlowTestDriver[], clock: TestClock, harness: FlowHarness) => void, count = 4): void {
  let harness: FlowHarness | undefined;
  beforeAll(async () => {
    const made = (harness = await makeHarness());
    const clock = new TestClock();
    use(Array.from({ length: count }, () => made.driver(clock)), clock, made);
  });
  afterAll(async () => {
    await harness?.teardown();
  });
}

const LEASE: Leases = { byName: {}, defaultMs: 60_000 };
const job = (over: Partial<NewJob> = {}): NewJob => ({
  name: 'send-email', queue: 'default', payload: '{"to":"a@b.c"}', scheduledAt: 0, overlapKey: null, ...over,
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Adds one to a counter record the way the flows do: read, then compare-and-set, again on a lost race. */
async function increment(store: RecordStore, namespace: string, id: string): Promise<number> {
  for (let tries = 0; tries < 1_000; tries++) {
    const current = await store.getRecord(namespace, id);
    const next = current ? Number(current.value) + 1 : 1;
    if (await store.casRecord(namespace, id, current?.version ?? null, String(next), null)) return next;
  }
  throw new Error('1,000 lost races in a row');
}

export function flowContract(label: string, makeHarness: () => Promise<FlowHarness>): void {
  describe(`flow contract: ${label}`, () => {
    let harness: FlowHarness;
    let clock: TestClock;
    let d: FlowTestDriver;
    let n = 0;
    /** Names of this case only: each case calls `fresh()` first. */
    const ns = (name = 'test') => `${name}-${n}`;
    const q = (name = 'default') => `${name}-${n}`;
    const fresh = () => {
      n++;
    };

    beforeAll(async () => {
      harness = await makeHarness();
      clock = new TestClock();
      d = harness.driver(clock);
    });
    afterAll(async () => {
      await harness?.teardown();
    });

    describe('records', () => {
      it('creates a record only when absent, and reads back its value and a version', async () => {
        fresh();
        expect(await d.getRecord(ns(), 'a')).toBeNull();
        expect(await d.casRecord(ns(), 'a', null, 'one', null)).toBe(true);
        const read = await d.getRecord(ns(), 'a');
        expect(read).toMatchObject({ value: 'one' });
        expect(typeof read!.version).toBe('string');
        expect(await d.casRecord(ns(), 'a', null, 'two', null)).toBe(false);
        expect((await d.getRecord(ns(), 'a'))!.value).toBe('one');
      });

      it('replaces a record only at the version read, and the version changes with every write', async () => {
        fresh();
        await d.casRecord(ns(), 'a', null, 'one', null);
        const first = (await d.getRecord(ns(), 'a'))!;
        expect(await d.casRecord(ns(), 'a', first.version, 'two', null)).toBe(true);
        const second = (await d.getRecord(ns(), 'a'))!;
        expect(second.value).toBe('two');
        expect(second.version).not.toBe(first.version);
        // A writer still holding the first version lost the race: nothing changes.
        expect(await d.casRecord(ns(), 'a', first.version, 'stale', null)).toBe(false);
        expect((await d.getRecord(ns(), 'a'))!.value).toBe('two');
        // The same value written again is still a new version.
        expect(await d.casRecord(ns(), 'a', second.version, 'two', null)).toBe(true);
        expect((await d.getRecord(ns(), 'a'))!.version).not.toBe(second.version);
      });

      it('loses no write when three instances race: 3 x 15 increments end at 45', async () => {
        fresh();
        const others = [d, harness.driver(clock), harness.driver(clock)];
        const results = await Promise.all(others.flatMap((store) => Array.from({ length: 15 }, () => increment(store, ns(), 'counter'))));
        expect((await d.getRecord(ns(), 'counter'))!.value).toBe('45');
        // Each increment saw a value of its own: no two writers both won from one version.
        expect(new Set(results).size).toBe(45);
      });

      it('keeps namespaces and ids apart', async () => {
        fresh();
        await d.casRecord(ns('x'), 'a', null, 'x-a', null);
        await d.casRecord(ns('y'), 'a', null, 'y-a', null);
        await d.casRecord(ns('x'), 'a:b/c d', null, 'odd id', null);
        expect((await d.getRecord(ns('x'), 'a'))!.value).toBe('x-a');
        expect((await d.getRecord(ns('y'), 'a'))!.value).toBe('y-a');
        expect((await d.getRecord(ns('x'), 'a:b/c d'))!.value).toBe('odd id');
        expect(await d.getRecord(ns('x'), 'b')).toBeNull();
      });

      it('round-trips a 512 KiB value and text outside ASCII', async () => {
        fresh();
        const big = 'é'.repeat(1_000) + 'x'.repeat(512 * 1024 - 2_000);
        expect(await d.casRecord(ns(), 'big', null, big, null)).toBe(true);
        expect((await d.getRecord(ns(), 'big'))!.value).toBe(big);
        const text = JSON.stringify({ message: 'faktur 4/10 — selesai ✓', emoji: '📄' });
        expect(await d.casRecord(ns(), 'text', null, text, null)).toBe(true);
        expect((await d.getRecord(ns(), 'text'))!.value).toBe(text);
      });

      it('deletes only at the version given, and says when nothing was deleted', async () => {
        fresh();
        await d.casRecord(ns(), 'a', null, 'one', null);
        const first = (await d.getRecord(ns(), 'a'))!;
        await d.casRecord(ns(), 'a', first.version, 'two', null);
        expect(await d.deleteRecord(ns(), 'a', first.version)).toBe(false);
        expect((await d.getRecord(ns(), 'a'))!.value).toBe('two');
        expect(await d.deleteRecord(ns(), 'a')).toBe(true);
        expect(await d.getRecord(ns(), 'a')).toBeNull();
        expect(await d.deleteRecord(ns(), 'a')).toBe(false);
        // Deleted, it may be created again.
        expect(await d.casRecord(ns(), 'a', null, 'three', null)).toBe(true);
      });

      it('lets a record expire after its time to live, on every instance, and be created anew', async () => {
        fresh();
        const other = harness.driver(clock);
        expect(await d.casRecord(ns(), 'short', null, 'soon gone', 1_000)).toBe(true);
        expect(await d.casRecord(ns(), 'long', null, 'stays', 600_000)).toBe(true);
        expect((await other.getRecord(ns(), 'short'))!.value).toBe('soon gone');
        // Stores that count time to live on their own server clock (Redis, memcached) need real
        // time to pass, in whole seconds on memcached; the others go by the clock given.
        if (harness.serverClock) await sleep(2_100);
        clock.advance(2_100);
        expect(await d.getRecord(ns(), 'short')).toBeNull();
        expect(await other.getRecord(ns(), 'short')).toBeNull();
        expect((await other.getRecord(ns(), 'long'))!.value).toBe('stays');
        expect((await d.listRecords(ns(), 10)).map((r) => r.id)).toEqual(['long']);
        expect(await d.casRecord(ns(), 'short', null, 'again', null)).toBe(true);
        expect((await other.getRecord(ns(), 'short'))!.value).toBe('again');
      });

      it('a write gives the record the new time to live, or none', async () => {
        fresh();
        await d.casRecord(ns(), 'a', null, 'one', 1_000);
        const read = (await d.getRecord(ns(), 'a'))!;
        expect(await d.casRecord(ns(), 'a', read.version, 'kept', null)).toBe(true);
        if (harness.serverClock) await sleep(2_100);
        clock.advance(2_100);
        expect((await d.getRecord(ns(), 'a'))!.value).toBe('kept');
      });

      it('lists a namespace newest write first, up to a limit, with what other instances wrote', async () => {
        fresh();
        const other = harness.driver(clock);
        for (const id of ['a', 'b', 'c']) {
          await (id === 'b' ? other : d).casRecord(ns(), id, null, `v-${id}`, null);
          clock.advance(10);
          await sleep(5); // a store may order writes by a stamp of real time (its server's clock): real time passes too
        }
        await d.casRecord(ns('elsewhere'), 'z', null, 'not listed', null);
        // Writing `a` again makes it the newest.
        const a = (await d.getRecord(ns(), 'a'))!;
        await d.casRecord(ns(), 'a', a.version, 'v-a2', null);
        const all = await d.listRecords(ns(), 10);
        expect(all.map((r) => [r.id, r.value])).toEqual([['a', 'v-a2'], ['c', 'v-c'], ['b', 'v-b']]);
        expect(all[0]!.version).toBe((await d.getRecord(ns(), 'a'))!.version);
        expect((await other.listRecords(ns(), 2)).map((r) => r.id)).toEqual(['a', 'c']);
        await d.deleteRecord(ns(), 'c');
        expect((await d.listRecords(ns(), 10)).map((r) => r.id)).toEqual(['a', 'b']);
        expect(await d.listRecords(ns('empty'), 10)).toEqual([]);
      });
    });

    describe('bulk push', () => {
      it('stores many jobs in order on several queues, each claimable once, in the order given', async () => {
        fresh();
        const now = clock.now();
        const jobs = Array.from({ length: 500 }, (_, i) => job({ queue: i % 2 ? q('odd') : q('even'), payload: JSON.stringify({ i }), scheduledAt: now }));
        const results = await d.pushMany(jobs);
        expect(results).toHaveLength(500);
        expect(results.every((r) => typeof r.id === 'string' && r.skipped === undefined)).toBe(true);
        expect(new Set(results.map((r) => r.id)).size).toBe(500);
        const other = harness.driver(clock);
        const claimed = await other.reserve({ queues: [q('even')], names: null, limit: 1_000, leases: LEASE });
        expect(claimed.map((j) => JSON.parse(j.payload).i)).toEqual(Array.from({ length: 250 }, (_, i) => i * 2));
        // Each result's id is the id of the job with that payload.
        for (const claim of claimed) expect(claim.id).toBe(results[JSON.parse(claim.payload).i]!.id);
        expect(await d.reserve({ queues: [q('even')], names: null, limit: 1_000, leases: LEASE })).toEqual([]);
        const stats = (await d.stats()).find((s) => s.queue === q('odd'));
        expect(stats).toMatchObject({ ready: 250, reserved: 0 });
      });

      it('returns [] for no jobs', async () => {
        fresh();
        expect(await d.pushMany([])).toEqual([]);
      });

      it('keeps each job\'s time: a scheduled one is not due before it', async () => {
        fresh();
        const now = clock.now();
        const [due, later] = await d.pushMany([job({ queue: q(), scheduledAt: now }), job({ queue: q(), scheduledAt: now + 60_000 })]);
        const first = await d.reserve({ queues: [q()], names: null, limit: 10, leases: LEASE });
        expect(first.map((j) => j.id)).toEqual([due!.id]);
        expect(await d.ack(first[0]!)).toBe(true);
        clock.advance(61_000);
        expect((await d.reserve({ queues: [q()], names: null, limit: 10, leases: LEASE })).map((j) => j.id)).toEqual([later!.id]);
      });

      it('holds overlap keys per job: against stored jobs, and between two jobs of one call', async () => {
        fresh();
        const now = clock.now();
        const held = await d.push(job({ queue: q(), scheduledAt: now, overlapKey: `held-${n}` }));
        const results = await d.pushMany([
          job({ queue: q(), scheduledAt: now, overlapKey: `held-${n}` }),
          job({ queue: q(), scheduledAt: now, overlapKey: `new-${n}` }),
          job({ queue: q(), scheduledAt: now, overlapKey: `new-${n}` }),
          job({ queue: q(), scheduledAt: now, overlapKey: null }),
        ]);
        expect(results[0]).toEqual({ skipped: 'overlapping', existingId: held.id });
        expect(typeof results[1]!.id).toBe('string');
        expect(results[2]).toEqual({ skipped: 'overlapping', existingId: results[1]!.id });
        expect(typeof results[3]!.id).toBe('string');
        const claimed = await d.reserve({ queues: [q()], names: null, limit: 10, leases: LEASE });
        expect(claimed.map((j) => j.id).sort()).toEqual([held.id!, results[1]!.id!, results[3]!.id!].sort());
        expect(claimed.find((j) => j.id === results[1]!.id)!.overlapKey).toBe(`new-${n}`);
      });

      it('two instances bulk-pushing one overlap key at the same moment store it once', async () => {
        fresh();
        const now = clock.now();
        const other = harness.driver(clock);
        const batch = () => Array.from({ length: 20 }, (_, i) => job({ queue: q(), scheduledAt: now, overlapKey: i === 10 ? `race-${n}` : null }));
        const [a, b] = await Promise.all([d.pushMany(batch()), other.pushMany(batch())]);
        const stored = [a[10]!, b[10]!].filter((r) => r.skipped === undefined);
        expect(stored).toHaveLength(1);
        const claimed = await d.reserve({ queues: [q()], names: null, limit: 100, leases: LEASE });
        expect(claimed).toHaveLength(39);
      });
    });
  });
}
