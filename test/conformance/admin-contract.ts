/**
 * The admin conformance suite: the dashboard's capabilities (src/store/admin-store.ts) on every
 * driver, against its real server. Like driver-contract.ts, it speaks only through the contract.
 * Worker records and metrics are store-wide, so each case uses names of its own and looks only at them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LIVE_WITHIN_MS, RUNTIME_BUCKETS_MS, STOPPED_KEPT, TOTALS_MINUTE, type MetricSample, type WorkerBeat,
} from '../../src/store/admin-store.ts';
import type { AdminDriver, Leases, NewJob } from '../../src/store/driver.ts';
import { TestClock, until } from '../helpers/clock.ts';

export interface AdminHarness {
  /** A new driver instance on the same store (as another worker process or host would have). */
  driver(clock: TestClock): AdminDriver;
  /** Drops everything the harness made. */
  teardown(): Promise<void>;
}

const LEASE: Leases = { byName: {}, defaultMs: 60_000 };
const HOUR = 3_600_000;
const MINUTE = 60_000;
const job = (over: Partial<NewJob> = {}): NewJob => ({
  name: 'send-email', queue: 'default', payload: '{"to":"a@b.c"}', scheduledAt: 0, overlapKey: null, ...over,
});
const sample = (over: Partial<MetricSample> = {}): MetricSample => ({
  minute: 0, queue: 'default', name: 'send-email', done: 0, failed: 0, retried: 0, runtimeMs: 0, waitMs: 0,
  buckets: RUNTIME_BUCKETS_MS.map(() => 0).concat(0), ...over,
});
const bucketsWith = (index: number, count: number) => RUNTIME_BUCKETS_MS.map(() => 0).concat(0).map((v, i) => (i === index ? count : v));

export function adminContract(label: string, makeHarness: () => Promise<AdminHarness>): void {
  describe(`admin contract: ${label}`, () => {
    let harness: AdminHarness;
    let clock: TestClock;
    let d: AdminDriver;
    let n = 0;
    /** Names of this case only: each case calls `fresh()` first. */
    const q = (name = 'default') => `${name}-${n}`;
    const fresh = () => {
      n++;
    };
    const reserve = (queues: string[] | null, limit = 10, paused: string[] = []) =>
      d.reserve({ queues, names: null, limit, leases: LEASE, paused });
    const minuteNow = () => Math.floor(clock.now() / MINUTE) * MINUTE;

    beforeAll(async () => {
      harness = await makeHarness();
      clock = new TestClock();
      d = harness.driver(clock);
    });
    afterAll(async () => {
      await harness?.teardown();
    });

    describe('paused queues', () => {
      it('pauses idempotently, lists them sorted on every instance, and resumes once', async () => {
        fresh();
        const other = harness.driver(clock);
        await d.pauseQueue(q('b'));
        await d.pauseQueue(q('a'));
        await d.pauseQueue(q('b'));
        const mine = (list: string[]) => list.filter((x) => x.endsWith(`-${n}`));
        expect(mine(await other.pausedQueues())).toEqual([q('a'), q('b')]);
        expect(await other.resumeQueue(q('a'))).toBe(true);
        expect(await d.resumeQueue(q('a'))).toBe(false);
        expect(mine(await d.pausedQueues())).toEqual([q('b')]);
        await d.resumeQueue(q('b'));
      });

      it('a claim takes nothing from a paused queue, named or not, and all of it once resumed', async () => {
        fresh();
        const now = clock.now();
        await d.push(job({ queue: q('low'), scheduledAt: now - 2000 }));
        await d.push(job({ queue: q('high'), scheduledAt: now - 1000 }));
        const paused = [q('low')];
        expect((await reserve([q('low'), q('high')], 10, paused)).map((j) => j.queue)).toEqual([q('high')]);
        expect(await reserve([q('low')], 10, paused)).toEqual([]);
        const everyQueue = await reserve(null, 100, paused);
        expect(everyQueue.filter((j) => j.queue === q('low'))).toEqual([]);
        await Promise.all(everyQueue.map((j) => d.ack(j)));
        expect((await reserve([q('low')], 10, [])).map((j) => j.queue)).toEqual([q('low')]);
      });
    });

    describe('browsing pending jobs', () => {
      it('lists ready, scheduled and reserved jobs in claim order with their state, filtered by state and queue', async () => {
        fresh();
        const now = clock.now();
        const held = await d.push(job({ queue: q(), name: 'held', scheduledAt: now - 3000 }));
        const ready = await d.push(job({ queue: q(), name: 'ready', scheduledAt: now - 2000, overlapKey: `k-${n}` }));
        const later = await d.push(job({ queue: q(), name: 'later', scheduledAt: now + HOUR }));
        const [claimed] = await reserve([q()], 1);
        expect(claimed!.id).toBe(held.id);

        const all = await d.listJobs({ state: null, queue: q(), search: null, offset: 0, limit: 50 });
        expect(all.total).toBe(3);
        expect(all.jobs.map((j) => [j.id, j.state])).toEqual([[held.id, 'reserved'], [ready.id, 'ready'], [later.id, 'scheduled']]);
        expect(all.jobs[0]).toMatchObject({ name: 'held', queue: q(), payload: '{"to":"a@b.c"}', attempts: 1, reservedUntil: claimed!.reservedUntil });
        expect(all.jobs[1]).toMatchObject({ name: 'ready', scheduledAt: now - 2000, overlapKey: `k-${n}`, attempts: 0, reservedUntil: null });
        expect(all.jobs[1]!.createdAt).toBeGreaterThan(0);

        for (const [state, id] of [['ready', ready.id], ['scheduled', later.id], ['reserved', held.id]] as const) {
          expect(await d.listJobs({ state, queue: q(), search: null, offset: 0, limit: 50 })).toMatchObject({ total: 1, jobs: [{ id }] });
        }
        expect(await d.listJobs({ state: null, queue: q('elsewhere'), search: null, offset: 0, limit: 50 })).toEqual({ total: 0, jobs: [] });
        expect((await d.getJob(ready.id!))?.state).toBe('ready');
      });

      it('judges a lapsed lease as ready again', async () => {
        fresh();
        const pushed = await d.push(job({ queue: q(), scheduledAt: clock.now() - 1000 }));
        await reserve([q()]);
        clock.advance(LEASE.defaultMs + 1000);
        expect((await d.getJob(pushed.id!))?.state).toBe('ready');
      });

      it('pages with the total of every match', async () => {
        fresh();
        const now = clock.now();
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await d.push(job({ queue: q(), scheduledAt: now - 5000 + i }))).id!);
        const page = await d.listJobs({ state: null, queue: q(), search: null, offset: 2, limit: 2 });
        expect(page).toMatchObject({ total: 5 });
        expect(page.jobs.map((j) => j.id)).toEqual(ids.slice(2, 4));
        expect((await d.listJobs({ state: null, queue: q(), search: null, offset: 5, limit: 2 })).jobs).toEqual([]);
      });

      it('searches by exact id, and by part of the name or queue whatever the case; wildcards are plain text', async () => {
        fresh();
        const now = clock.now();
        const mail = await d.push(job({ queue: q('mail'), name: 'send-welcome-email', scheduledAt: now }));
        const pdf = await d.push(job({ queue: q('mail'), name: 'render-pdf', scheduledAt: now + 1 }));
        const find = (search: string, queue: string | null = q('mail')) =>
          d.listJobs({ state: null, queue, search, offset: 0, limit: 50 }).then((p) => p.jobs.map((j) => j.id));
        expect(await find(pdf.id!)).toEqual([pdf.id]);
        expect(await find('WELCOME')).toEqual([mail.id]);
        expect(await find(`MAIL-${n}`, null)).toEqual([mail.id, pdf.id]);
        expect(await find('%')).toEqual([]);
        expect(await find('_')).toEqual([]);
        expect(await find('no-such-thing')).toEqual([]);
      });

      it('answers null for a job that is not there', async () => {
        fresh();
        expect(await d.getJob('999999999')).toBeNull();
        expect(await d.getJob('not-an-id')).toBeNull();
      });

      it('cancels a ready or scheduled job, freeing its overlap key, but never a reserved one', async () => {
        fresh();
        const now = clock.now();
        const ready = await d.push(job({ queue: q(), scheduledAt: now - 1000, overlapKey: `c-${n}` }));
        const later = await d.push(job({ queue: q(), scheduledAt: now + HOUR }));
        const held = await d.push(job({ queue: q('busy'), scheduledAt: now - 1000 }));
        const [claimed] = await reserve([q('busy')]);

        expect(await d.cancelJob(ready.id!)).toBe(true);
        expect(await d.cancelJob(ready.id!)).toBe(false);
        expect(await d.cancelJob(later.id!)).toBe(true);
        expect(await d.cancelJob(held.id!)).toBe(false);
        expect(await d.cancelJob('999999999')).toBe(false);
        expect(await d.getJob(ready.id!)).toBeNull();
        expect((await d.listJobs({ state: null, queue: q(), search: null, offset: 0, limit: 50 })).total).toBe(0);
        expect(await d.ack(claimed!)).toBe(true);
        clock.advance(2 * HOUR);
        expect(await reserve([q()])).toEqual([]);
        expect((await d.push(job({ queue: q(), overlapKey: `c-${n}` }))).skipped).toBeUndefined();
      });

      it('runs a scheduled job now, and only a scheduled one', async () => {
        fresh();
        const now = clock.now();
        const later = await d.push(job({ queue: q(), scheduledAt: now + HOUR }));
        const ready = await d.push(job({ queue: q('r'), scheduledAt: now - 1000 }));
        expect(await d.runJobNow(later.id!)).toBe(true);
        expect(await d.runJobNow(later.id!)).toBe(false);
        expect(await d.runJobNow(ready.id!)).toBe(false);
        expect(await d.runJobNow('999999999')).toBe(false);
        const [claimed] = await reserve([q()]);
        expect(claimed?.id).toBe(later.id);
        expect(await d.runJobNow(later.id!)).toBe(false);
      });
    });

    describe('overlap locks', () => {
      it('lists the keys held by pending and running jobs, with the job holding each', async () => {
        fresh();
        const now = clock.now();
        const a = await d.push(job({ queue: q(), name: 'report', scheduledAt: now - 1000, overlapKey: `lock-a-${n}` }));
        const b = await d.push(job({ queue: q(), name: 'report', scheduledAt: now + HOUR, overlapKey: `lock-b-${n}` }));
        await d.push(job({ queue: q(), scheduledAt: now - 500 }));
        const mine = async () => (await d.listOverlapLocks()).filter((l) => l.key.endsWith(`-${n}`)).sort((x, y) => x.key.localeCompare(y.key));
        const [claimed] = await reserve([q()], 1);
        expect(claimed!.id).toBe(a.id);
        const locks = await mine();
        expect(locks).toMatchObject([
          { key: `lock-a-${n}`, jobId: a.id, name: 'report', queue: q(), state: 'reserved' },
          { key: `lock-b-${n}`, jobId: b.id, name: 'report', queue: q(), state: 'scheduled' },
        ]);
        expect(locks[0]!.since).toBeGreaterThan(0);
        await d.ack(claimed!);
        expect((await mine()).map((l) => l.key)).toEqual([`lock-b-${n}`]);
      });

      it('releases a stuck key: the job stays and runs, and the key can be taken again', async () => {
        fresh();
        const now = clock.now();
        const stuck = await d.push(job({ queue: q(), scheduledAt: now - 1000, overlapKey: `stuck-${n}` }));
        expect((await d.push(job({ queue: q(), overlapKey: `stuck-${n}` }))).skipped).toBe('overlapping');
        expect(await d.releaseOverlapLock(`stuck-${n}`)).toBe(true);
        expect(await d.releaseOverlapLock(`stuck-${n}`)).toBe(false);
        expect((await d.listOverlapLocks()).filter((l) => l.key === `stuck-${n}`)).toEqual([]);
        const again = await d.push(job({ queue: q(), scheduledAt: now, overlapKey: `stuck-${n}` }));
        expect(again.skipped).toBeUndefined();
        const [first, second] = await reserve([q()]);
        expect([first?.id, second?.id]).toEqual([stuck.id, again.id]);
        // The old job ending must not free the key its successor now holds.
        expect(await d.ack(first!)).toBe(true);
        expect((await d.listOverlapLocks()).filter((l) => l.key === `stuck-${n}`).map((l) => l.jobId)).toEqual([again.id]);
        expect((await d.push(job({ queue: q(), overlapKey: `stuck-${n}` }))).skipped).toBe('overlapping');
        expect(await d.ack(second!)).toBe(true);
        expect((await d.listOverlapLocks()).filter((l) => l.key === `stuck-${n}`)).toEqual([]);
      });
    });

    describe('worker registry', () => {
      const beat = (over: Partial<WorkerBeat> & { id: string }): WorkerBeat => ({
        host: 'web-1', pid: 4242, queues: ['high', 'default'], running: [], startedAt: clock.now() - 10_000, beatAt: clock.now(), done: 0, failed: 0, ...over,
      });

      it('keeps the last beat of each live worker, seen from every instance', async () => {
        fresh();
        const id = `web-1:4242:${n}`;
        await d.beat(beat({ id }));
        const running = [{ id: '17', name: 'render-pdf', queue: 'default', startedAt: clock.now() - 500 }];
        const at = clock.now() + 1;
        await d.beat(beat({ id, running, done: 12, failed: 1, beatAt: at }));
        const other = harness.driver(clock);
        const record = (await other.listWorkers(clock.now())).find((w) => w.id === id);
        expect(record).toMatchObject({ id, host: 'web-1', pid: 4242, queues: ['high', 'default'], running, done: 12, failed: 1, stoppedAt: null, end: null });
        expect(record!.beatAt).toBe(at);
      });

      it('lists live workers before stopped ones, each stopped one with why', async () => {
        fresh();
        const live = `live:${n}`;
        const gone = `gone:${n}`;
        await d.beat(beat({ id: gone, queues: null }));
        await d.beat(beat({ id: live }));
        const at = clock.now();
        await d.workerStopped(gone, 'timeout-kill', at);
        const list = (await d.listWorkers(clock.now())).filter((w) => w.id.endsWith(`:${n}`));
        expect(list.map((w) => [w.id, w.end])).toEqual([[live, null], [gone, 'timeout-kill']]);
        expect(list[1]).toMatchObject({ stoppedAt: at, queues: null });
        const all = await d.listWorkers(clock.now());
        const firstStopped = all.findIndex((w) => w.stoppedAt !== null);
        expect(all.slice(firstStopped).every((w) => w.stoppedAt !== null)).toBe(true);
      });

      it('marks a worker whose beats stopped coming as lost', async () => {
        fresh();
        const id = `silent:${n}`;
        await d.beat(beat({ id, beatAt: clock.now() }));
        expect((await d.listWorkers(clock.now() + LIVE_WITHIN_MS - 1000)).find((w) => w.id === id)?.end).toBeNull();
        const later = clock.now() + LIVE_WITHIN_MS + 1000;
        expect((await d.listWorkers(later)).find((w) => w.id === id)).toMatchObject({ end: 'lost' });
      });

      it(`keeps the newest ${STOPPED_KEPT} stopped workers`, async () => {
        fresh();
        const base = clock.now() + 10 * HOUR;
        for (let i = 0; i < STOPPED_KEPT + 5; i++) {
          const id = `old:${n}:${i}`;
          await d.beat(beat({ id, beatAt: base + i }));
          await d.workerStopped(id, 'empty', base + i);
        }
        const stopped = (await d.listWorkers(base + STOPPED_KEPT + 5)).filter((w) => w.id.startsWith(`old:${n}:`));
        expect(stopped).toHaveLength(STOPPED_KEPT);
        expect(stopped.map((w) => w.id)).not.toContain(`old:${n}:4`);
        expect(stopped.map((w) => w.id)).toContain(`old:${n}:5`);
        expect(stopped[0]!.id).toBe(`old:${n}:${STOPPED_KEPT + 4}`);
      });
    });

    describe('metrics', () => {
      it('adds samples of the same minute, queue and name together, every counter and bucket', async () => {
        fresh();
        const m = minuteNow();
        await d.addMetrics([sample({ minute: m, queue: q(), done: 3, runtimeMs: 30, waitMs: 7, buckets: bucketsWith(1, 3) })]);
        await d.addMetrics([
          sample({ minute: m, queue: q(), done: 1, failed: 2, retried: 1, runtimeMs: 900, waitMs: 3, buckets: bucketsWith(14, 4) }),
          sample({ minute: m, queue: q(), name: 'render-pdf', done: 5 }),
          sample({ minute: m - MINUTE, queue: q(), done: 9 }),
        ]);
        const read = (await d.readMetrics(m - MINUTE, m + MINUTE)).filter((s) => s.queue === q());
        expect(read).toEqual([
          sample({ minute: m - MINUTE, queue: q(), done: 9 }),
          sample({ minute: m, queue: q(), name: 'render-pdf', done: 5 }),
          sample({ minute: m, queue: q(), done: 4, failed: 2, retried: 1, runtimeMs: 930, waitMs: 10, buckets: bucketsWith(1, 3).map((v, i) => (i === 14 ? 4 : v)) }),
        ]);
        expect((await d.readMetrics(m, m + MINUTE)).filter((s) => s.queue === q()).map((s) => s.minute)).toEqual([m, m]);
        expect((await d.readMetrics(m - MINUTE, m)).filter((s) => s.queue === q()).map((s) => s.done)).toEqual([9]);
      });

      it('loses no count when several writers add at the same moment', async () => {
        fresh();
        const m = minuteNow();
        const writers = [d, harness.driver(clock), harness.driver(clock)];
        await Promise.all(writers.flatMap((w) => Array.from({ length: 10 }, () => w.addMetrics([sample({ minute: m, queue: q(), done: 1, runtimeMs: 2, buckets: bucketsWith(0, 1) })]))));
        const [s] = (await d.readMetrics(m, m + MINUTE)).filter((x) => x.queue === q());
        expect(s).toMatchObject({ done: 30, runtimeMs: 60 });
        expect(s!.buckets[0]).toBe(30);
      });

      it('prunes old minutes but never the all-time totals', async () => {
        fresh();
        const m = minuteNow();
        await d.addMetrics([
          sample({ minute: m - 30 * HOUR, queue: q(), done: 1 }),
          sample({ minute: m - 25 * HOUR, queue: q(), done: 2 }),
          sample({ minute: m, queue: q(), done: 3 }),
          sample({ minute: TOTALS_MINUTE, queue: q(), done: 6 }),
        ]);
        expect(await d.pruneMetrics(m - 24 * HOUR)).toBeGreaterThanOrEqual(2);
        expect((await d.readMetrics(1, m + MINUTE)).filter((s) => s.queue === q()).map((s) => s.done)).toEqual([3]);
        expect((await d.readMetrics(TOTALS_MINUTE, TOTALS_MINUTE + 1)).filter((s) => s.queue === q()).map((s) => s.done)).toEqual([6]);
      });

      it('forgets a minute its keep time after the minute began, on every instance, but never the totals', async () => {
        fresh();
        const m = minuteNow();
        const keepMs = clock.now() - m + 1_500;
        await d.addMetrics([sample({ minute: m, queue: q(), done: 1 }), sample({ minute: TOTALS_MINUTE, queue: q(), done: 1 })], keepMs);
        expect((await harness.driver(clock).readMetrics(m, m + MINUTE)).filter((s) => s.queue === q()).map((s) => s.done)).toEqual([1]);
        const other = harness.driver(clock);
        const mine = async () => (await other.readMetrics(m, m + MINUTE)).filter((s) => s.queue === q());
        await until(async () => (await mine()).length === 0, { timeoutMs: 5_000, everyMs: 100, what: 'the minute to be forgotten at its keep time' });
        expect(await mine()).toEqual([]);
        expect(clock.now()).toBeGreaterThanOrEqual(m + keepMs);
        expect((await d.readMetrics(TOTALS_MINUTE, TOTALS_MINUTE + 1)).filter((s) => s.queue === q()).map((s) => s.done)).toEqual([1]);
      });
    });
  });
}
