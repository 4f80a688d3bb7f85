/**
 * Job middleware in a real worker on SQLite: the order they run in around run(), a custom one
 * that holds a job back (uncounted), and throttleExceptions closing a key after its exceptions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Jobable, throttleExceptions, type JobMiddleware } from '../../src/index.ts';
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

  it('throttleExceptions: after 2 exceptions the job is held back without running, its attempts unchanged', async () => {
    bench = await workerBench({}, Failing);
    const id = await bench.push(Failing);
    await bench.worker({ maxJobs: 3 }).run();
    expect(ran).toEqual(['failing', 'failing']);
    const job = await bench.deps.driver.getJob(id);
    expect(job).toMatchObject({ attempts: 2, state: 'scheduled' });
    expect(job!.scheduledAt).toBeGreaterThan(bench.clock.now() + 55_000);
  });
});
