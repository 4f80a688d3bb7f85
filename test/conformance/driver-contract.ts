/**
 * The driver conformance suite: every driver runs these cases against its real server.
 * They speak only through the contract in src/store/driver.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FullDriver, Leases, NewJob, ReservedJob } from '../../src/store/driver.ts';
import { TestClock } from '../helpers/clock.ts';
import { allFailed } from '../helpers/failed.ts';

export interface DriverHarness {
  /** A new driver instance on the same store (as another worker process would have). */
  driver(clock: TestClock): FullDriver;
  /** Drops everything the harness made. */
  teardown(): Promise<void>;
}

const LEASE: Leases = { byName: {}, defaultMs: 60_000 };
const job = (over: Partial<NewJob> = {}): NewJob => ({
  name: 'send-email', queue: 'default', payload: '{"to":"a@b.c"}', scheduledAt: 0, overlapKey: null, ...over,
});

export function driverContract(label: string, makeHarness: () => Promise<DriverHarness>): void {
  describe(`driver contract: ${label}`, () => {
    let harness: DriverHarness;
    let clock: TestClock;
    let d: FullDriver;
    /** Each test uses its own queue names, so tests do not see each other's jobs. */
    let n = 0;
    const q = (name = 'default') => `${name}-${n}`;
    const reserve = (queues: string[] | null, limit = 10, names: string[] | null = null, driver = d) =>
      driver.reserve({ queues, names, limit, leases: LEASE });

    beforeAll(async () => {
      harness = await makeHarness();
      clock = new TestClock();
      d = harness.driver(clock);
    });
    afterAll(async () => {
      await harness?.teardown();
    });
    const fresh = () => {
      n++;
    };

    it('stores a pushed job and hands it to one claim, counting the attempt', async () => {
      fresh();
      const pushed = await d.push(job({ queue: q(), scheduledAt: clock.now() }));
      expect(pushed.id).toBeTruthy();
      const [claimed, ...rest] = await reserve([q()]);
      expect(rest).toEqual([]);
      expect(claimed).toMatchObject({ id: pushed.id, name: 'send-email', queue: q(), payload: '{"to":"a@b.c"}', attempts: 1 });
      expect(claimed!.token).toBeTruthy();
      expect(claimed!.reservedUntil).toBeGreaterThanOrEqual(clock.now() + 59_000);
      expect(await reserve([q()])).toEqual([]);
    });

    it('does not hand out a job before its scheduled time', async () => {
      fresh();
      await d.push(job({ queue: q(), scheduledAt: clock.now() + 3_600_000 }));
      expect(await reserve([q()])).toEqual([]);
      expect((await d.stats()).find((s) => s.queue === q())).toMatchObject({ ready: 0, scheduled: 1 });
      clock.advance(3_600_001);
      expect(await reserve([q()])).toHaveLength(1);
    });

    it('takes from queues in strict priority order, oldest first within a queue', async () => {
      fresh();
      const t = clock.now() - 10_000;
      await d.push(job({ queue: q('low'), scheduledAt: t, payload: '{"n":"low"}' }));
      await d.push(job({ queue: q('default'), scheduledAt: t + 1, payload: '{"n":"default"}' }));
      await d.push(job({ queue: q('high'), scheduledAt: t + 3, payload: '{"n":"high2"}' }));
      await d.push(job({ queue: q('high'), scheduledAt: t + 2, payload: '{"n":"high1"}' }));
      const order: string[] = [];
      for (let i = 0; i < 4; i++) {
        const [one] = await reserve([q('high'), q('default'), q('low')], 1);
        order.push(JSON.parse(one!.payload).n);
      }
      expect(order).toEqual(['high1', 'high2', 'default', 'low']);
    });

    it('fills a batch from the first queue, then the next', async () => {
      fresh();
      for (const queue of [q('b'), q('a'), q('b'), q('a')]) await d.push(job({ queue, scheduledAt: clock.now() - 1000 }));
      const batch = await reserve([q('a'), q('b')], 3);
      expect(batch.map((j) => j.queue)).toEqual([q('a'), q('a'), q('b')]);
    });

    it('takes only the names asked for', async () => {
      fresh();
      await d.push(job({ queue: q(), name: 'a-job', scheduledAt: clock.now() }));
      await d.push(job({ queue: q(), name: 'b-job', scheduledAt: clock.now() }));
      const got = await reserve([q()], 10, ['b-job']);
      expect(got.map((j) => j.name)).toEqual(['b-job']);
    });

    it('acks only with the claim token that holds the job', async () => {
      fresh();
      await d.push(job({ queue: q(), scheduledAt: clock.now() }));
      const [held] = await reserve([q()]);
      expect(await d.ack({ ...held!, token: 'not-the-token' })).toBe(false);
      expect(await d.ack(held!)).toBe(true);
      expect(await d.ack(held!)).toBe(false);
      clock.advance(LEASE.defaultMs + 1);
      expect(await reserve([q()])).toEqual([]);
    });

    it('acks a batch in one call, across queues, each job only with its own token (ackMany)', async () => {
      fresh();
      // A driver without ackMany is acked one by one by the worker: the same promise holds.
      const ackMany = d.ackMany ? d.ackMany.bind(d) : (jobs: readonly ReservedJob[]) => Promise.all(jobs.map((j) => d.ack(j)));
      for (const queue of [q('a'), q('b'), q('a'), q('b'), q('a')]) await d.push(job({ queue, scheduledAt: clock.now(), overlapKey: `k-${queue}-${n}-${Math.random()}` }));
      const held = await reserve([q('a'), q('b')], 10);
      expect(held).toHaveLength(5);
      const stale = { ...held[1]!, token: 'not-the-token' };
      expect(await ackMany([held[0]!, stale, held[2]!, held[3]!, held[4]!])).toEqual([true, false, true, true, true]);
      expect(await ackMany([held[0]!, held[1]!])).toEqual([false, true]);
      clock.advance(LEASE.defaultMs + 1);
      expect(await reserve([q('a'), q('b')])).toEqual([]);
      // Their overlap keys are free again.
      for (const j of held) expect((await d.push(job({ queue: j.queue, scheduledAt: clock.now(), overlapKey: j.overlapKey }))).id).toBeTruthy();
    });

    it('records the acks a claim carries before it claims, each only with its own token (reserveAfterAcks)', async () => {
      fresh();
      // A driver without reserveAfterAcks gets the acks beside the claim from the worker: the same promise holds.
      const ackMany = d.ackMany ? d.ackMany.bind(d) : (jobs: readonly ReservedJob[]) => Promise.all(jobs.map((j) => d.ack(j)));
      const reserveAfterAcks = d.reserveAfterAcks ? d.reserveAfterAcks.bind(d)
        : async (acks: readonly ReservedJob[], request: Parameters<FullDriver['reserve']>[0]) => ({ held: await ackMany(acks), claimed: await d.reserve(request) });
      for (const queue of [q('a'), q('a'), q('a'), q('b')]) await d.push(job({ queue, scheduledAt: clock.now(), overlapKey: `k-${Math.random()}` }));
      const [a1, a2] = await reserve([q('a')], 2);
      const [b1] = await reserve([q('b')]);
      const stale = { ...a2!, token: 'not-the-token' };
      const { held, claimed } = await reserveAfterAcks([a1!, stale, b1!], { queues: [q('a')], names: null, limit: 10, leases: LEASE });
      expect(held.slice(0, 2)).toEqual([true, false]);
      // The third job's queue was not claimed from: carried (true), or left for the caller to send.
      if (held[2] === undefined) expect(await ackMany([b1!])).toEqual([true]);
      else expect(held[2]).toBe(true);
      expect(claimed).toHaveLength(1);
      expect(claimed[0]).toMatchObject({ queue: q('a'), attempts: 1 });
      expect([a1!.id, a2!.id]).not.toContain(claimed[0]!.id);
      // Each acked job is gone for good, its overlap key free; the stale ack changed nothing.
      expect(await ackMany([a1!, b1!, a2!])).toEqual([false, false, true]);
      for (const j of [a1!, b1!]) expect((await d.push(job({ queue: j.queue, scheduledAt: clock.now() + 3_600_000, overlapKey: j.overlapKey }))).id).toBeTruthy();
      // With nothing to claim, the acks are still recorded.
      const done = await reserveAfterAcks([claimed[0]!], { queues: [q('a')], names: null, limit: 10, leases: LEASE });
      expect(done).toEqual({ held: [true], claimed: [] });
    });

    it('brings a job back when its lease lapses, and the old holder can no longer touch it', async () => {
      fresh();
      await d.push(job({ queue: q(), scheduledAt: clock.now() }));
      const [first] = await reserve([q()]);
      clock.advance(LEASE.defaultMs + 1);
      const other = harness.driver(clock);
      const [second] = await reserve([q()], 10, null, other);
      expect(second).toMatchObject({ id: first!.id, attempts: 2 });
      expect(second!.token).not.toBe(first!.token);
      expect(await d.ack(first!)).toBe(false);
      expect(await d.release(first!, { at: clock.now(), countAttempt: true })).toBe(false);
      expect(await d.fail(first!, { exception: 'Error: late' })).toBe(false);
      expect(await other.ack(second!)).toBe(true);
    });

    it('fills a claim with every due job, one due before those already taken included', async () => {
      fresh();
      const start = clock.now();
      for (let i = 0; i < 5; i++) await d.push(job({ queue: q(), scheduledAt: start }));
      expect(await reserve([q()], 2)).toHaveLength(2);
      await d.push(job({ queue: q(), name: 'late', scheduledAt: start - 5_000 }));
      expect((await reserve([q()], 10)).map((j) => j.name)).toEqual(['late', 'send-email', 'send-email', 'send-email']);
    });

    it('claims a job due before those already taken (a clock behind this one) within a second, while the queue stays busy', async () => {
      fresh();
      const take = async () => (await reserve([q()], 1))[0];
      const start = clock.now();
      for (let i = 0; i < 20; i++) await d.push(job({ queue: q(), scheduledAt: start }));
      expect((await take())?.name).toBe('send-email');
      clock.advance(100);
      await d.push(job({ queue: q(), name: 'late', scheduledAt: start - 5_000 }));
      let waited = 0;
      while ((await take())?.name !== 'late' && waited <= 1_000) {
        clock.advance(100);
        waited += 100;
      }
      expect(waited).toBeLessThanOrEqual(1_000);
    });

    it('uses the lease of each job name', async () => {
      fresh();
      await d.push(job({ queue: q(), name: 'short', scheduledAt: clock.now() }));
      await d.push(job({ queue: q(), name: 'long', scheduledAt: clock.now() }));
      const now = clock.now();
      const got = await d.reserve({ queues: [q()], names: null, limit: 10, leases: { byName: { short: 5_000, long: 500_000 }, defaultMs: 60_000 } });
      const until = Object.fromEntries(got.map((j) => [j.name, j.reservedUntil - now]));
      expect(until.short).toBeGreaterThanOrEqual(4_000);
      expect(until.short).toBeLessThan(20_000);
      expect(until.long).toBeGreaterThanOrEqual(499_000);
      clock.advance(6_000);
      expect((await reserve([q()])).map((j) => j.name)).toEqual(['short']);
    });

    it('releases a job for a later retry, keeping its attempts', async () => {
      fresh();
      await d.push(job({ queue: q(), scheduledAt: clock.now() }));
      const [held] = await reserve([q()]);
      expect(await d.release(held!, { at: clock.now() + 30_000, countAttempt: true })).toBe(true);
      expect(await reserve([q()])).toEqual([]);
      clock.advance(30_001);
      const [again] = await reserve([q()]);
      expect(again!.attempts).toBe(2);
    });

    it('gives the attempt back when a job is released without starting', async () => {
      fresh();
      await d.push(job({ queue: q(), scheduledAt: clock.now() }));
      const [held] = await reserve([q()]);
      await d.release(held!, { at: clock.now(), countAttempt: false });
      const [again] = await reserve([q()]);
      expect(again!.attempts).toBe(1);
    });

    it('gives back every job claimed for an owner, and only those, with their attempts and due times (releaseOwned)', async () => {
      fresh();
      const owner = `w${n}x${Math.random().toString(36).slice(2, 10)}`;
      const t = clock.now() - 5_000;
      for (let i = 0; i < 3; i++) await d.push(job({ queue: q('a'), scheduledAt: t + i, payload: `{"i":${i}}` }));
      await d.push(job({ queue: q('b'), scheduledAt: t + 3, payload: '{"i":3}' }));
      const mine = await d.reserve({ queues: [q('a'), q('b')], names: null, limit: 4, leases: LEASE, owner });
      expect(mine).toHaveLength(4);
      await d.push(job({ queue: q('a'), scheduledAt: t + 4, payload: '{"i":4}' }));
      // Another owner's claim and an unowned claim, which it must not touch.
      const [theirs] = await d.reserve({ queues: [q('a')], names: null, limit: 1, leases: LEASE, owner: `${owner}y` });
      expect(JSON.parse(theirs!.payload).i).toBe(4);
      expect(await d.ack(mine[0]!)).toBe(true); // one of them finished before its process died
      expect(await harness.driver(clock).releaseOwned(owner)).toBe(3);
      // Due again at once (the lease is far off), at their own due times, their attempts given back.
      const again = await reserve([q('a'), q('b')]);
      expect(again.map((j) => [JSON.parse(j.payload).i, j.attempts, j.scheduledAt])).toEqual([[1, 1, t + 1], [2, 1, t + 2], [3, 1, t + 3]]);
      expect(await d.ack(mine[1]!)).toBe(false); // the dead owner's token no longer holds it
      expect(await d.ack(theirs!)).toBe(true);
      expect(await d.releaseOwned(owner)).toBe(0);
    });

    it('moves a failed job to the failed store with its error, attempts and payload', async () => {
      fresh();
      const pushed = await d.push(job({ queue: q(), scheduledAt: clock.now(), payload: '{"x":1}' }));
      const [held] = await reserve([q()]);
      expect(await d.fail(held!, { exception: 'Error: boom\n    at run (job.ts:1:1)' })).toBe(true);
      expect(await reserve([q()])).toEqual([]);
      const failed = (await allFailed(d)).filter((f) => f.queue === q());
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ jobId: pushed.id, name: 'send-email', payload: '{"x":1}', attempts: 1 });
      expect(failed[0]!.exception).toContain('Error: boom');
      expect((await d.stats()).find((s) => s.queue === q())).toMatchObject({ failed: 1, ready: 0 });
    });

    it('reads one failed job by its id, from every instance, and null for an id it does not have', async () => {
      fresh();
      await d.push(job({ queue: q(), scheduledAt: clock.now(), payload: '{"y":2}', overlapKey: `one#${q()}` }));
      const [held] = await reserve([q()]);
      await d.fail(held!, { exception: 'Error: once' });
      const listed = (await allFailed(d)).find((f) => f.queue === q())!;
      expect(await harness.driver(clock).getFailed(listed.id)).toEqual(listed);
      for (const id of ['no-such-id', `${listed.id}0`, '']) expect(await d.getFailed(id)).toBeNull();
    });

    it('keeps one pending or running job per overlap key, and frees the key when the job ends', async () => {
      fresh();
      const key = `report#${q()}`;
      const first = await d.push(job({ queue: q(), overlapKey: key, scheduledAt: clock.now() }));
      const second = await d.push(job({ queue: q(), overlapKey: key, scheduledAt: clock.now() }));
      expect(second).toEqual({ skipped: 'overlapping', existingId: first.id });
      const [held] = await reserve([q()]);
      expect((await d.push(job({ queue: q(), overlapKey: key }))).skipped).toBe('overlapping');
      await d.ack(held!);
      const third = await d.push(job({ queue: q(), overlapKey: key, scheduledAt: clock.now() }));
      expect(third.id).toBeTruthy();
      const [held3] = await reserve([q()]);
      await d.fail(held3!, { exception: 'Error: x' });
      expect((await d.push(job({ queue: q(), overlapKey: key }))).id).toBeTruthy();
    });

    it('stores exactly one job when many dispatches race on one overlap key', async () => {
      fresh();
      const drivers = [d, harness.driver(clock), harness.driver(clock)];
      const results = await Promise.all(Array.from({ length: 24 }, (_, i) =>
        drivers[i % drivers.length]!.push(job({ queue: q(), overlapKey: `race#${q()}`, scheduledAt: clock.now() }))));
      expect(results.filter((r) => r.id)).toHaveLength(1);
      expect(await reserve([q()], 50)).toHaveLength(1);
    });

    it('gives each of many pushes made at once its own job, on two queues, one overlap key among them', async () => {
      fresh();
      const key = `burst#${q()}`;
      const made = Array.from({ length: 40 }, (_, i) =>
        job({ queue: i % 3 === 0 ? q('other') : q(), payload: `{"i":${i}}`, scheduledAt: clock.now(), overlapKey: [4, 14, 22].includes(i) ? key : null }));
      const results = await Promise.all(made.map((j) => d.push(j)));
      // Made at once, any of the three may take the key (a database writes them side by side); the others name it.
      const keyed = [4, 14, 22].map((i) => results[i]!);
      const holder = keyed.find((r) => r.id)!.id;
      expect(keyed.filter((r) => r.id)).toHaveLength(1);
      expect(keyed.filter((r) => !r.id)).toEqual([{ skipped: 'overlapping', existingId: holder }, { skipped: 'overlapping', existingId: holder }]);
      const stored = results.flatMap((r, i) => (r.id ? [{ id: r.id, payload: made[i]!.payload, queue: made[i]!.queue }] : []));
      expect(stored).toHaveLength(38);
      expect(new Set(stored.map((s) => s.id)).size).toBe(38);
      const claimed = await reserve([q(), q('other')], 50);
      expect(claimed.map((c) => ({ id: c.id, payload: c.payload, queue: c.queue })).sort((a, b) => a.payload.localeCompare(b.payload)))
        .toEqual([...stored].sort((a, b) => a.payload.localeCompare(b.payload)));
    });

    it('never hands one job to two claimers racing for it', async () => {
      fresh();
      const total = 120;
      for (let i = 0; i < total; i++) await d.push(job({ queue: q(), scheduledAt: clock.now(), payload: `{"i":${i}}` }));
      const drivers = [d, harness.driver(clock), harness.driver(clock), harness.driver(clock)];
      const seen: ReservedJob[] = [];
      await Promise.all(drivers.map(async (driver) => {
        for (;;) {
          const got = await reserve([q()], 7, null, driver);
          if (got.length === 0) return;
          seen.push(...got);
          await Promise.all(got.map((g) => driver.ack(g)));
        }
      }));
      expect(seen).toHaveLength(total);
      expect(new Set(seen.map((s) => s.id)).size).toBe(total);
    });

    it('retries failed jobs as new jobs with attempts reset, and reports unknown ids', async () => {
      fresh();
      await d.push(job({ queue: q(), scheduledAt: clock.now(), payload: '{"r":1}' }));
      const [held] = await reserve([q()]);
      await d.fail(held!, { exception: 'Error: x' });
      const failed = (await allFailed(d)).find((f) => f.queue === q())!;
      const result = await d.retryFailed([failed.id, 'no-such-id']);
      expect(result.retried.map((r) => r.failedId)).toEqual([failed.id]);
      expect(result.missing).toEqual(['no-such-id']);
      expect((await allFailed(d)).find((f) => f.queue === q())).toBeUndefined();
      const [again] = await reserve([q()]);
      expect(again).toMatchObject({ attempts: 1, payload: '{"r":1}', id: result.retried[0]!.jobId });
    });

    it('leaves a failed job failed when its overlap key is held again', async () => {
      fresh();
      const key = `retry#${q()}`;
      await d.push(job({ queue: q(), overlapKey: key, scheduledAt: clock.now() }));
      const [held] = await reserve([q()]);
      await d.fail(held!, { exception: 'Error: x' });
      await d.push(job({ queue: q(), overlapKey: key, scheduledAt: clock.now() }));
      const failed = (await allFailed(d)).find((f) => f.queue === q())!;
      expect(await d.retryFailed([failed.id])).toMatchObject({ retried: [], overlapping: [failed.id] });
      expect((await allFailed(d)).some((f) => f.id === failed.id)).toBe(true);
    });

    it('puts a failed job back once when several hosts retry it at the same moment', async () => {
      fresh();
      const key = `requeue#${q()}`;
      await d.push(job({ queue: q(), overlapKey: key, scheduledAt: clock.now(), payload: '{"once":1}' }));
      const [held] = await reserve([q()]);
      await d.fail(held!, { exception: 'Error: x' });
      const failed = (await allFailed(d)).find((f) => f.queue === q())!;
      const hosts = [d, harness.driver(clock), harness.driver(clock), harness.driver(clock)];
      const outcomes = await Promise.all(hosts.map(async (h) => (await h.requeueFailed([failed.id], clock.now()))[0]!));
      expect(outcomes.filter((o) => typeof o === 'object')).toHaveLength(1);
      expect(outcomes.filter((o) => typeof o !== 'object').every((o) => o === 'missing')).toBe(true);
      expect(await d.getFailed(failed.id)).toBeNull();
      const again = await reserve([q()], 10);
      expect(again.map((j) => j.payload)).toEqual(['{"once":1}']);
      // The requeued job holds its overlap key like any pushed job.
      expect((await d.push(job({ queue: q(), overlapKey: key, scheduledAt: clock.now() }))).skipped).toBe('overlapping');
    });

    it('forgets failed jobs by id, each once', async () => {
      fresh();
      for (let i = 0; i < 3; i++) {
        await d.push(job({ queue: q(), scheduledAt: clock.now() }));
        const [held] = await reserve([q()]);
        await d.fail(held!, { exception: 'Error: x' });
        clock.advance(3_600_000);
      }
      const mine = () => allFailed(d).then((all) => all.filter((f) => f.queue === q()));
      const [oldest, middle] = await mine();
      expect(await d.forgetFailed([oldest!.id, 'no-such-id', oldest!.id])).toEqual([true, false, false]);
      expect(await d.forgetFailed([oldest!.id, middle!.id])).toEqual([false, true]);
      expect(await mine()).toHaveLength(1);
    });

    it('clears pending jobs of a queue but leaves running ones', async () => {
      fresh();
      for (let i = 0; i < 3; i++) await d.push(job({ queue: q(), scheduledAt: clock.now() }));
      await d.push(job({ queue: q('other'), scheduledAt: clock.now() }));
      const [running] = await reserve([q()], 1);
      expect(await d.clear(q())).toBe(2);
      expect(await d.ack(running!)).toBe(true);
      expect(await reserve([q('other')])).toHaveLength(1);
    });

    it('keeps the job:restart mark where every instance on the store reads it', async () => {
      const other = harness.driver(clock);
      expect(await d.restartRequestedAt()).toBeNull();
      await other.requestRestart(1_700_000_000_123);
      expect(await d.restartRequestedAt()).toBe(1_700_000_000_123);
      await d.requestRestart(1_700_000_000_456);
      expect(await other.restartRequestedAt()).toBe(1_700_000_000_456);
    });

    it('tells whether a job is due on the queues asked for (the look of a cron run)', async () => {
      fresh();
      const mine = [q('a'), q('b')];
      expect(await d.hasDue(mine)).toBe(false);
      await d.push(job({ queue: q('b'), scheduledAt: clock.now() + 3_600_000 }));
      expect(await d.hasDue(mine)).toBe(false);
      await d.push(job({ queue: q('c'), scheduledAt: clock.now() }));
      expect(await d.hasDue(mine)).toBe(false);
      expect(await d.hasDue([q('c')])).toBe(true);
      expect(await d.hasDue(null)).toBe(true);
      await d.push(job({ queue: q('a'), scheduledAt: clock.now() }));
      expect(await d.hasDue(mine)).toBe(true);
      const [held] = await reserve([q('a')]);
      expect(await d.hasDue(mine)).toBe(false); // held under a lease
      clock.advance(LEASE.defaultMs + 1);
      expect(await d.hasDue(mine)).toBe(true); // the lease lapsed
      await reserve([q('a'), q('b'), q('c')], 10);
      await d.ack(held!);
    });

    it('counts ready, scheduled, reserved and failed jobs per queue', async () => {
      fresh();
      for (let i = 0; i < 4; i++) await d.push(job({ queue: q(), scheduledAt: clock.now() }));
      await d.push(job({ queue: q(), scheduledAt: clock.now() + 60_000 }));
      const [a, b] = await reserve([q()], 2);
      await d.fail(b!, { exception: 'Error: x' });
      expect((await d.stats()).find((s) => s.queue === q())).toEqual({ queue: q(), ready: 2, scheduled: 1, reserved: 1, failed: 1 });
      await d.ack(a!);
    });
  });
}
