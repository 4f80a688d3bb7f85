/**
 * The failed-store conformance suite: newest-first pages with a cursor, filters by queue, job
 * name, error text and time, exact counts that agree with the pages, requeueing and forgetting
 * many at once, and the retry-by-filter run built over them (store/failed/failed-sweep.ts), on every
 * driver against its real server. Failures are made the way workers make them (push, reserve,
 * fail), at times a frozen clock sets, so several share one millisecond.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FailedFilter, FailedJob, FullDriver, Leases } from '../../src/store/driver.ts';
import { EVERY_FAILURE, compareNewest } from '../../src/store/failed/failed-view.ts';
import { FailedSweeps } from '../../src/store/failed/failed-sweep.ts';
import { TestClock } from '../helpers/clock.ts';
import type { DriverHarness } from './driver-contract.ts';

const LEASE: Leases = { byName: {}, defaultMs: 60_000 };

/** A clock that stands still where a test puts it. */
class FrozenClock extends TestClock {
  at = Date.now();
  override now(): number {
    return this.at;
  }
}

export function failedContract(label: string, makeHarness: () => Promise<DriverHarness>): void {
  describe(`failed store contract: ${label}`, () => {
    let harness: DriverHarness;
    let clock: FrozenClock;
    let d: FullDriver;
    let n = 0;
    const q = (name: string) => `${name}-f${n}`;

    beforeAll(async () => {
      harness = await makeHarness();
      clock = new FrozenClock();
      d = harness.driver(clock);
    });
    afterAll(async () => {
      await harness?.teardown();
    });

    /** A failure of `name` on `queue` with this error, failed at `at`. */
    const failAt = async (queue: string, name: string, error: string, at: number, overlapKey: string | null = null) => {
      clock.at = at;
      await d.push({ name, queue, payload: '{"k":1}', scheduledAt: at - 1, overlapKey });
      const [held] = await d.reserve({ queues: [queue], names: null, limit: 1, leases: LEASE });
      expect(await d.fail(held!, { exception: error })).toBe(true);
    };
    /** Every page of a filter, `limit` at a time. */
    const pages = async (filter: Partial<FailedFilter>, limit: number, store: FullDriver = d) => {
      const out: FailedJob[][] = [];
      let after: string | null = null;
      do {
        const page = await store.listFailed({ ...EVERY_FAILURE, ...filter, after, limit });
        out.push(page.jobs);
        after = page.next;
      } while (after !== null && out.length < 100);
      return out;
    };
    /** Twelve failures on two queues, three job names, some in one millisecond. */
    const seed = async () => {
      n++;
      const t0 = Date.now() - 50_000_000 + n * 1_000_000;
      const made = [
        [q('mail'), 'send', 'Error: SMTP timeout', t0], [q('mail'), 'send', 'Error: smtp TIMEOUT at 100%_done', t0 + 10],
        [q('mail'), 'bounce', 'Error: no such user', t0 + 10], [q('mail'), 'send', 'Error: refused', t0 + 10],
        [q('sms'), 'send', 'Error: timeout', t0 + 10], [q('sms'), 'text', 'Error: quota', t0 + 20],
        [q('sms'), 'text', 'Error: quota', t0 + 30], [q('mail'), 'bounce', 'Error: quota', t0 + 30],
        [q('sms'), 'text', 'TypeError: x is undefined\n    at timeout (job.ts:1:1)', t0 + 40], [q('mail'), 'send', 'Error: refused', t0 + 50],
        [q('sms'), 'send', 'Error: refused', t0 + 50], [q('mail'), 'send', 'Error: refused', t0 + 60],
      ] as const;
      for (const [queue, name, error, at] of made) await failAt(queue, name, error, at);
      return { t0, mine: (jobs: FailedJob[]) => jobs.filter((f) => f.queue === q('mail') || f.queue === q('sms')) };
    };

    it('pages newest first through every failure once, the same from every instance', async () => {
      const { mine } = await seed();
      const byOne = (await pages({ queue: q('mail') }, 1)).flat();
      const byFive = (await pages({ queue: q('mail') }, 5, harness.driver(clock))).flat();
      expect(byOne.map((f) => f.id)).toEqual(byFive.map((f) => f.id));
      expect(byOne).toHaveLength(7);
      expect(new Set(byOne.map((f) => f.id)).size).toBe(7);
      expect([...byOne].sort(compareNewest)).toEqual(byOne);
      // Every queue: the two queues' failures merged into one order, ties included.
      const everyQueue = mine((await pages({}, 3)).flat());
      expect(everyQueue).toHaveLength(12);
      expect(new Set(everyQueue.map((f) => f.id)).size).toBe(12);
      expect([...everyQueue].sort(compareNewest).map((f) => f.id)).toEqual(everyQueue.map((f) => f.id));
      expect(everyQueue[0]).toMatchObject({ name: 'send', queue: q('mail'), exception: 'Error: refused' });
    });

    it('filters by queue, job name, error text in any case and time, and counts exactly what it lists', async () => {
      const { t0, mine } = await seed();
      const cases: [Partial<FailedFilter>, number][] = [
        [{ queue: q('sms') }, 5], [{ queue: q('mail'), name: 'send' }, 5], [{ error: 'TIMEOUT' }, 4],
        [{ error: '100%_' }, 1], [{ error: '%' }, 1], [{ queue: q('sms'), error: 'at timeout' }, 1],
        [{ queue: q('mail'), since: t0 + 10, until: t0 + 50 }, 4], [{ queue: q('sms'), since: t0 + 50 }, 1], [{ queue: q('sms'), name: 'nobody' }, 0],
      ];
      for (const [filter, expected] of cases) {
        const listed = (await pages(filter, 2)).flat();
        const scoped = filter.queue ? listed : mine(listed);
        expect(scoped, JSON.stringify(filter)).toHaveLength(expected);
        if (filter.queue) {
          const counts = await d.countFailed({ ...EVERY_FAILURE, ...filter });
          expect(counts.total).toBe(expected);
          expect(counts.byQueue).toEqual(expected === 0 ? {} : { [filter.queue]: expected });
          const byName: Record<string, number> = {};
          for (const f of listed) byName[f.name] = (byName[f.name] ?? 0) + 1;
          expect(counts.byName).toEqual(byName);
        }
      }
      const counts = await d.countFailed(EVERY_FAILURE);
      expect(counts.byQueue[q('mail')]).toBe(7);
      expect(counts.byQueue[q('sms')]).toBe(5);
      expect(counts.total).toBe(Object.values(counts.byQueue).reduce((a, b) => a + b, 0));
    });

    it('requeues many in one call, an outcome per id in order, each once', async () => {
      n++;
      const key = `held#${q('k')}`;
      const now = Date.now();
      await failAt(q('r'), 'a', 'Error: a', now);
      await failAt(q('r'), 'b', 'Error: b', now + 1, key);
      await failAt(q('r'), 'c', 'Error: c', now + 2, `free#${q('k')}`);
      await d.push({ name: 'holder', queue: q('r'), payload: '{}', scheduledAt: now + 60_000, overlapKey: key });
      const [c, b, a] = (await pages({ queue: q('r') }, 10)).flat();
      const outcomes = await d.requeueFailed([a!.id, b!.id, 'no-such-id', c!.id, a!.id], now + 5);
      expect(outcomes[0]).toEqual({ jobId: expect.any(String) });
      expect(outcomes.slice(1, 3)).toEqual(['overlapping', 'missing']);
      expect(outcomes[3]).toEqual({ jobId: expect.any(String) });
      expect(outcomes[4]).toBe('missing');
      expect((await pages({ queue: q('r') }, 10)).flat().map((f) => f.id)).toEqual([b!.id]);
      clock.at = now + 10;
      const back = await d.reserve({ queues: [q('r')], names: null, limit: 5, leases: LEASE });
      expect(back.map((j) => [j.name, j.attempts, j.id])).toEqual([['a', 1, (outcomes[0] as { jobId: string }).jobId], ['c', 1, (outcomes[3] as { jobId: string }).jobId]]);
      expect((await d.push({ name: 'c', queue: q('r'), payload: '{}', scheduledAt: now, overlapKey: `free#${q('k')}` })).skipped).toBe('overlapping');
      expect(await d.forgetFailed([b!.id, b!.id])).toEqual([true, false]);
    });

    it('requeues a page once when several hosts requeue it at the same moment', async () => {
      n++;
      const now = Date.now();
      for (let i = 0; i < 6; i++) await failAt(q('race'), `j${i}`, 'Error: x', now + i, i === 5 ? `race#${q('k')}` : null);
      const ids = (await pages({ queue: q('race') }, 10)).flat().map((f) => f.id);
      const hosts = [d, harness.driver(clock), harness.driver(clock), harness.driver(clock)];
      const outcomes = await Promise.all(hosts.map((h) => h.requeueFailed([...ids].reverse(), now + 10)));
      // Each failed job went back through exactly one host; every other host found it gone.
      ids.forEach((_, k) => {
        const each = outcomes.map((o) => o[k]!);
        expect(each.filter((o) => typeof o === 'object')).toHaveLength(1);
        expect(each.filter((o) => o === 'missing')).toHaveLength(hosts.length - 1);
      });
      const jobIds = outcomes.flat().filter((o) => typeof o === 'object').map((o) => o.jobId);
      expect(new Set(jobIds).size).toBe(6);
      expect((await pages({ queue: q('race') }, 10)).flat()).toEqual([]);
      clock.at = now + 20;
      const back = await d.reserve({ queues: [q('race')], names: null, limit: 10, leases: LEASE });
      expect(back.map((j) => j.id).sort()).toEqual([...jobIds].sort());
    });

    it('retries every match by filter a page at a time, continues after a kill, and leaves later failures alone', async () => {
      const { t0 } = await seed();
      clock.at = t0 + 100;
      const sweeps = new FailedSweeps(d, clock, 2);
      const filter = { ...EVERY_FAILURE, queue: q('mail'), name: 'send' };
      const started = await sweeps.start('retry', filter);
      expect(started.run).toMatchObject({ total: 5, handled: 0 });
      // Killed after the first page: its progress is in the records.
      const stop = new AbortController();
      const first = await sweeps.work(started.run!, () => stop.abort(), stop.signal);
      expect(first).toMatchObject({ handled: 2, retried: 2, finishedAt: null });
      await failAt(q('mail'), 'send', 'Error: later', t0 + 200); // after the run began: not its to retry
      // Another process runs the same command: busy while the run beats, continued once it is silent.
      const other = new FailedSweeps(harness.driver(clock), clock, 2);
      expect((await other.start('retry', filter)).busy).toMatchObject({ handled: 2 });
      clock.at = t0 + 200 + 31_000;
      const again = await other.start('retry', filter);
      expect(again).toMatchObject({ resumed: true, run: { handled: 2 } });
      const end = await other.work(again.run!);
      expect(end).toMatchObject({ total: 5, handled: 5, retried: 5, overlapping: 0, missing: 0 });
      expect(end.finishedAt).not.toBeNull();
      expect((await pages({ queue: q('mail'), name: 'send' }, 10)).flat().map((f) => f.exception)).toEqual(['Error: later']);
      expect(await d.stats()).toContainEqual(expect.objectContaining({ queue: q('mail'), ready: 5, failed: 3 }));
      // Forgetting by filter goes the same way.
      const forget = await sweeps.start('forget', { ...EVERY_FAILURE, queue: q('sms') });
      expect(await sweeps.work(forget.run!)).toMatchObject({ total: 5, forgotten: 5 });
      expect((await d.countFailed({ ...EVERY_FAILURE, queue: q('sms') })).total).toBe(0);
    });
  });
}
