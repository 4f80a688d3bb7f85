/**
 * Job middleware in a real worker on SQLite: the order they run in around run(), a custom one
 * that holds a job back (uncounted), release()'s default and floor, skipIf and a middleware that
 * does not call next() (skipped: acked, not counted as done, told as 'skipped'), and
 * throttleExceptions closing a key after its exceptions (its hold-backs logged at debug only).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { forgetJobEvents, onJobEvent, type JobEvent } from '../../src/api/job-events.ts';
import { Jobable, skipIf, throttleExceptions, type JobMiddleware } from '../../src/index.ts';
import { workerBench, type WorkerBench } from '../helpers/worker.ts';

const ran: string[] = [];
const tag = (name: string): JobMiddleware => async (job, next) => {
  ran.push(`${name} before`);
  const result = await next();
  ran.push(`${name} after`);
  return result;
};
const holdOnce: JobMiddleware = (job, next) => (job.attempt === 1 && !ran.includes('held') ? (ran.push('held'), job.release(30)) : next());

class Wrapped extends Jobable {
  static middleware = [tag('outer'), tag('inner')];
  run() {
    ran.push('run');
  }
}
class HeldBack extends Jobable {
  static tries = 1;
  static middleware = [holdOnce];
  run() {
    ran.push(`held-back ran on attempt ${this.attempt}`);
  }
}
class Released extends Jobable<{ seconds?: number }> {
  run() {
    const seconds = this.get('seconds');
    ran.push(`released ${seconds ?? 'default'}`);
    return seconds === undefined ? this.release() : this.release(seconds);
  }
}
const gate: JobMiddleware = () => undefined;
class Skipped extends Jobable<{ skip: boolean }> {
  static middleware = [skipIf((job: Skipped) => job.get('skip')), gate];
  run() {
    ran.push('skipped ran');
  }
}
class Failing extends Jobable {
  static tries = 10;
  static backoff = 0;
  static middleware = [throttleExceptions({ max: 2, per: 60 })];
  run() {
    ran.push('failing');
    throw new Error('the partner API is down');
  }
}

let bench: WorkerBench | null = null;
afterEach(async () => {
  ran.length = 0;
  forgetJobEvents();
  await bench?.db.drop();
  bench = null;
});

describe('job middleware in a worker', () => {
  it('run in order around run(), each around the next', async () => {
    bench = await workerBench({}, Wrapped);
    await bench.push(Wrapped);
    await bench.worker({ stopWhenEmpty: true }).run();
    expect(ran).toEqual(['outer before', 'inner before', 'run', 'inner after', 'outer after']);
  });

  it('a job held back by release() is due again later and keeps its attempt', async () => {
    bench = await workerBench({}, HeldBack);
    const id = await bench.push(HeldBack);
    await bench.worker({ once: true }).run();
    expect(await bench.deps.driver.getJob(id)).toMatchObject({ attempts: 0, state: 'scheduled' });
    expect((await bench.deps.driver.getJob(id))!.scheduledAt).toBeGreaterThanOrEqual(bench.clock.now() + 29_000);
    bench.clock.advance(31_000);
    await bench.worker({ stopWhenEmpty: true }).run();
    expect(ran).toEqual(['held', 'held-back ran on attempt 1']);
    expect(bench.logs.some((l) => l.msg === 'Job released: held-back (released by the job for 30 s)' && l.level === 30)).toBe(true);
  });

  it('release() without an argument holds the job back 1 s; release(0) or a negative delay 0.1 s, so it cannot spin', async () => {
    bench = await workerBench({}, Released);
    const ids = [await bench.push(Released), await bench.push(Released, { seconds: 0 }), await bench.push(Released, { seconds: -5 })];
    const before = bench.clock.now();
    await bench.worker({ maxJobs: 3 }).run();
    const after = bench.clock.now();
    // Each is due its delay after its release, which came between `before` and `after`.
    const due = await Promise.all(ids.map(async (id) => (await bench!.deps.driver.getJob(id))!.scheduledAt));
    [1_000, 100, 100].forEach((delay, i) => {
      expect(due[i]).toBeGreaterThanOrEqual(before + delay);
      expect(due[i]).toBeLessThanOrEqual(after + delay);
    });
    expect(bench.logs.filter((l) => l.status === 'RELEASED').map((l) => l.msg)).toEqual(['1', '0.1', '0.1'].map((s) => `Job released: released (released by the job for ${s} s)`));
  });

  it('skipIf, and a middleware that returns without calling next(): skipped, acked, not counted as done', async () => {
    bench = await workerBench({}, Skipped);
    const told: JobEvent[] = [];
    onJobEvent('skipped', (event) => void told.push(event));
    onJobEvent('completed', (event) => void told.push(event));
    await bench.push(Skipped, { skip: true });
    await bench.push(Skipped, { skip: false });
    const summary = await bench.worker({ stopWhenEmpty: true }).run();
    expect(ran).toEqual([]);
    expect(summary).toMatchObject({ done: 0, skipped: 2 });
    expect(await bench.deps.driver.stats()).toEqual([]);
    expect(bench.logs.filter((l) => l.status === 'SKIPPED').map((l) => l.msg)).toEqual(['Job skipped: skipped (skipIf)', 'Job skipped: skipped (gate returned without calling next())']);
    expect(told.map((e) => [e.event, e.why])).toEqual([['skipped', 'skipIf'], ['skipped', 'gate returned without calling next()']]);
  });

  it('throttleExceptions: after 2 exceptions the job is held back without running, its attempts unchanged', async () => {
    bench = await workerBench({}, Failing);
    const id = await bench.push(Failing);
    await bench.worker({ maxJobs: 3 }).run();
    expect(ran).toEqual(['failing', 'failing']);
    const job = await bench.deps.driver.getJob(id);
    expect(job).toMatchObject({ attempts: 2, state: 'scheduled' });
    expect(job!.scheduledAt).toBeGreaterThan(bench.clock.now() + 55_000);
    // A limit's hold-back is routine: logged at debug, not at info.
    expect(bench.logs.filter((l) => /Job released/.test(l.msg))).toEqual([]);
  });
});
