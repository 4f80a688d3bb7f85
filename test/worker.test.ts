import { afterEach, describe, expect, it } from 'vitest';
import { Jobable } from '../src/api/jobable.ts';
import { Event } from '../src/api/events.ts';
import { UnrecoverableError } from '../src/infra/errors.ts';
import { PendingBatch } from '../src/flows/batches/pending-batch.ts';
import { until } from './helpers/clock.ts';
import { workerBench, type WorkerBench } from './helpers/worker.ts';
import { allFailed } from './helpers/failed.ts';

const ran: string[] = [];
let bench: WorkerBench | undefined;
afterEach(async () => {
  ran.length = 0;
  Event.forget();
  await bench?.db.drop();
  bench = undefined;
});

class Record extends Jobable<{ tag: string }> {
  async run() {
    ran.push(this.get('tag'));
  }
}
class Flaky extends Jobable<{ tag: string }> {
  static tries = 3;
  static backoff = 0;
  async run() {
    ran.push(`attempt ${this.attempt}`);
    if (this.attempt < 3) throw new Error(`flaky attempt ${this.attempt}`);
  }
}
const failedHook: Error[] = [];
const failedJob: { id: string; queue: string; attempt: number; payload: object }[] = [];
class AlwaysFails extends Jobable {
  static tries = 2;
  static backoff = 0;
  async run() {
    ran.push('fails');
    throw new TypeError('always broken');
  }
  async failed(error: Error) {
    failedHook.push(error);
    failedJob.push({ id: this.id, queue: this.queue, attempt: this.attempt, payload: this.payload });
  }
}
class SlowBackoff extends Jobable {
  static tries = 2;
  static backoff = [600];
  async run() {
    ran.push(`slow ${this.attempt}`);
    if (this.attempt === 1) throw new Error('first try fails');
  }
}
class Sleeper extends Jobable<{ ms: number }> {
  async run() {
    await new Promise((r) => setTimeout(r, this.get('ms'))); // its work: time on purpose
    ran.push(`slept ${this.id}`);
  }
}
class Cooperative extends Jobable {
  static timeout = 0.2;
  static tries = 1;
  async run() {
    await new Promise((_, reject) => this.signal.addEventListener('abort', () => reject(this.signal.reason)));
  }
}
/** Set when an Ignores attempt's signal aborts. */
let ignoresCut = false;
/** Ignores its signal (it only notes when it aborts) and ends by itself after `ms`. */
class Ignores extends Jobable<{ ms: number }> {
  static timeout = 0.2;
  static tries = 1;
  uniqueId() {
    return 'only-one';
  }
  async run() {
    ran.push('ignores start');
    this.signal.addEventListener('abort', () => (ignoresCut = true), { once: true });
    await new Promise((r) => setTimeout(r, this.get('ms'))); // its work, past its timeout: time on purpose
    ran.push('ignores end');
  }
}
class NeverEnds extends Jobable {
  static timeout = 0.2;
  static tries = 1;
  async run() {
    ran.push('never ends');
    await new Promise(() => undefined);
  }
}
class GivesUp extends Jobable {
  static tries = 5;
  async run() {
    throw new UnrecoverableError('not worth retrying');
  }
}
class DefaultTries extends Jobable {
  static backoff = 0;
  async run() {
    ran.push('default');
    throw new Error('x');
  }
}

describe('worker', () => {
  it('runs a job and removes it from the queue', async () => {
    bench = await workerBench({}, Record);
    await bench.push(Record, { tag: 'one' });
    const summary = await bench.worker({ stopWhenEmpty: true }).run();
    expect(summary).toMatchObject({ reason: 'empty', done: 1, failed: 0 });
    expect(ran).toEqual(['one']);
    expect(await bench.deps.driver.stats()).toEqual([]);
    expect(bench.logs.some((l) => l.msg === 'Job executed: record (attempt 1)')).toBe(true);
  });

  it('always takes the first queue that has a due job (strict priority)', async () => {
    bench = await workerBench({}, Record);
    const t = bench.clock.now() - 1000;
    await bench.push(Record, { tag: 'low' }, { queue: 'low', scheduledAt: t });
    await bench.push(Record, { tag: 'default' }, { queue: 'default', scheduledAt: t + 1 });
    await bench.push(Record, { tag: 'high' }, { queue: 'high', scheduledAt: t + 2 });
    await bench.worker({ queues: ['high', 'default', 'low'], stopWhenEmpty: true }).run();
    expect(ran).toEqual(['high', 'default', 'low']);
  });

  it('without --queue takes every queue, oldest due first', async () => {
    bench = await workerBench({}, Record);
    const t = bench.clock.now() - 1000;
    await bench.push(Record, { tag: 'b' }, { queue: 'high', scheduledAt: t + 2 });
    await bench.push(Record, { tag: 'a' }, { queue: 'low', scheduledAt: t + 1 });
    await bench.worker({ stopWhenEmpty: true }).run();
    expect(ran).toEqual(['a', 'b']);
  });

  it('retries a flaky job until it succeeds on attempt 3', async () => {
    bench = await workerBench({}, Flaky);
    await bench.push(Flaky);
    const summary = await bench.worker({ stopWhenEmpty: true }).run();
    expect(ran).toEqual(['attempt 1', 'attempt 2', 'attempt 3']);
    expect(summary).toMatchObject({ done: 1, retried: 2, failed: 0 });
    expect(bench.logs.filter((l) => l.msg.startsWith('Job retry: flaky'))).toHaveLength(2);
  });

  it('stores the backoff in the queue instead of sleeping on the job', async () => {
    bench = await workerBench({}, SlowBackoff);
    await bench.push(SlowBackoff);
    const run = bench.worker({ stopWhenEmpty: true }).run();
    await until(() => ran.length === 1 && bench!.clock.waiting > 0);
    const [stats] = await bench.deps.driver.stats();
    expect(stats).toMatchObject({ ready: 0, scheduled: 1, reserved: 0 });
    bench.clock.advance(600_000);
    await run;
    expect(ran).toEqual(['slow 1', 'slow 2']);
  });

  it('moves a job that keeps failing to the failed store, calls failed(), and never runs it again', async () => {
    bench = await workerBench({}, AlwaysFails, Record);
    const id = await bench.push(AlwaysFails, { to: 'a@b.c' }, { queue: 'mail' });
    const summary = await bench.worker({ stopWhenEmpty: true }).run();
    expect(summary).toMatchObject({ failed: 1, retried: 1 });
    expect(ran).toEqual(['fails', 'fails']);
    expect(failedHook.at(-1)).toBeInstanceOf(TypeError);
    expect(failedJob.at(-1)).toEqual({ id, queue: 'mail', attempt: 2, payload: { to: 'a@b.c' } });
    const [failed] = await allFailed(bench.deps.driver);
    expect(failed).toMatchObject({ name: 'always-fails', attempts: 2 });
    expect(failed!.exception).toMatch(/^TypeError: always broken\n\s+at /);
    ran.length = 0;
    bench.clock.advance(86_400_000);
    await bench.worker({ stopWhenEmpty: true }).run();
    expect(ran).toEqual([]);
  });

  it('uses the class tries, then --retries, then max_retries', async () => {
    bench = await workerBench({ max_retries: 2 }, DefaultTries);
    await bench.push(DefaultTries);
    await bench.worker({ stopWhenEmpty: true }).run();
    expect(ran).toHaveLength(2);
    ran.length = 0;
    await bench.push(DefaultTries);
    await bench.worker({ stopWhenEmpty: true, tries: 4 }).run();
    expect(ran).toHaveLength(4);
  });

  it('fails an UnrecoverableError at once, whatever tries are left', async () => {
    bench = await workerBench({}, GivesUp);
    await bench.push(GivesUp);
    const summary = await bench.worker({ stopWhenEmpty: true }).run();
    expect(summary).toMatchObject({ failed: 1, retried: 0 });
  });

  it('fails a job whose name has no handler at once, and goes on', async () => {
    bench = await workerBench({}, Record);
    await bench.push('no-such-job', {});
    await bench.push(Record, { tag: 'after' });
    await bench.worker({ stopWhenEmpty: true }).run();
    const [failed] = await allFailed(bench.deps.driver);
    expect(failed).toMatchObject({ name: 'no-such-job', attempts: 1 });
    expect(failed!.exception).toContain('No handler for job "no-such-job"');
    expect(ran).toEqual(['after']);
  });

  it('never resolves a stored name to code outside the registry', async () => {
    bench = await workerBench({}, Record);
    for (const name of ['constructor', '__proto__', '../../x', 'toString']) await bench.push(name, {});
    await bench.worker({ stopWhenEmpty: true }).run();
    const failed = await allFailed(bench.deps.driver);
    expect(failed.map((f) => f.name).sort()).toEqual(['../../x', '__proto__', 'constructor', 'toString']);
    expect(failed.every((f) => f.exception.includes('No handler'))).toBe(true);
  });

  it('sends a job with a corrupt stored payload to the failed store and goes on', async () => {
    bench = await workerBench({}, Record);
    const id = await bench.push(Record, { tag: 'x' });
    await bench.db.knex(bench.db.table).where('id', id).update({ payloads: '{"tag": oops' });
    await bench.push(Record, { tag: 'next' });
    await bench.worker({ stopWhenEmpty: true }).run();
    const [failed] = await allFailed(bench.deps.driver);
    expect(failed!.exception).toContain('Corrupt stored payload');
    expect(ran).toEqual(['next']);
  });

  it('fails an attempt at its timeout through its AbortSignal, and goes on', async () => {
    bench = await workerBench({}, Cooperative, Record);
    await bench.push(Cooperative);
    await bench.push(Record, { tag: 'still runs' });
    const started = Date.now();
    await bench.worker({ stopWhenEmpty: true }).run();
    expect(Date.now() - started).toBeLessThan(2000);
    const [failed] = await allFailed(bench.deps.driver);
    expect(failed!.exception).toMatch(/^TimeoutError: Job "cooperative" \(id \d+\) ran past its timeout of 0.2 s/);
    expect(ran).toEqual(['still runs']);
  });

  it('in this process, a timed-out attempt that ignores its signal keeps its slot and overlap key until its code ends, and says it cannot be stopped', async () => {
    bench = await workerBench({}, Ignores, Record);
    await bench.push(Ignores, { ms: 2600 }, { overlapKey: 'ignores:only-one' });
    await bench.push(Record, { tag: 'waits its turn' });
    const run = bench.worker({ stopWhenEmpty: true, concurrency: 1 }).run();
    ignoresCut = false;
    await until(() => ran.includes('ignores start'));
    await until(() => ignoresCut, { timeoutMs: 2000, what: 'the attempt to reach its timeout of 0.2 s (its signal aborts)' });
    const again = await bench.deps.driver.push({ name: 'ignores', queue: 'default', payload: '{"ms":1}', scheduledAt: bench.clock.now(), overlapKey: 'ignores:only-one' });
    expect(again.skipped).toBe('overlapping');
    expect(await allFailed(bench.deps.driver)).toEqual([]);
    await run;
    expect(ran).toEqual(['ignores start', 'ignores end', 'waits its turn']);
    const [failed] = await allFailed(bench.deps.driver);
    expect(failed!.exception).toMatch(/^TimeoutError: Job "ignores" \(id \d+\) ran past its timeout of 0.2 s/);
    expect(bench.logs.map((l) => l.msg)).toContain(
      `Job ignores (id ${failed!.jobId}) ran past its timeout of 0.2 s and ignores its AbortSignal: it cannot be stopped in this process (--in-process); it keeps its slot until its code ends`);
  });

  it('runs --concurrency jobs at once', async () => {
    bench = await workerBench({}, Sleeper);
    for (let i = 0; i < 6; i++) await bench.push(Sleeper, { ms: 300 });
    const started = Date.now();
    await bench.worker({ stopWhenEmpty: true, concurrency: 6 }).run();
    expect(ran).toHaveLength(6);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('stops after one job with --once, and after N with --max-jobs', async () => {
    bench = await workerBench({}, Record);
    for (let i = 0; i < 5; i++) await bench.push(Record, { tag: String(i) });
    expect((await bench.worker({ once: true }).run()).reason).toBe('once');
    expect(ran).toEqual(['0']);
    expect((await bench.worker({ maxJobs: 3, concurrency: 2 }).run()).reason).toBe('max-jobs');
    expect(ran).toEqual(['0', '1', '2', '3']);
  });

  it('with --once on an empty queue, looks once and exits', async () => {
    bench = await workerBench({}, Record);
    expect((await bench.worker({ once: true }).run()).reason).toBe('once');
  });

  it('stops after --max-time', async () => {
    bench = await workerBench({}, Record);
    const run = bench.worker({ maxTime: 60 }).run();
    await until(() => bench!.clock.waiting > 0);
    bench.clock.advance(61_000);
    expect((await run).reason).toBe('max-time');
  });

  it('on stop, finishes the running job and claims nothing more', async () => {
    bench = await workerBench({}, Sleeper);
    await bench.push(Sleeper, { ms: 300 });
    await bench.push(Sleeper, { ms: 300 });
    const worker = bench.worker();
    const run = worker.run();
    await until(async () => (await bench!.deps.driver.stats())[0]?.reserved === 1);
    worker.stop();
    expect((await run).reason).toBe('signal');
    expect(ran).toHaveLength(1);
    expect(await bench.deps.driver.stats()).toEqual([{ queue: 'default', ready: 1, scheduled: 0, reserved: 0, failed: 0 }]);
  });

  it('on a second stop, gives running jobs back without counting the attempt', async () => {
    bench = await workerBench({}, Sleeper);
    const id = await bench.push(Sleeper, { ms: 5000 });
    const worker = bench.worker();
    const run = worker.run();
    await until(async () => (await bench!.deps.driver.stats())[0]?.reserved === 1);
    worker.stop();
    worker.stop();
    expect((await run).reason).toBe('forced');
    const row = await bench.db.knex(bench.db.table).where('id', id).first();
    expect(row).toMatchObject({ attempts: 0, reserved_by: null });
  });

  it('on a second stop, gives back uncounted a job whose code never ends, within a few seconds', async () => {
    bench = await workerBench({}, NeverEnds);
    const id = await bench.push(NeverEnds);
    const worker = bench.worker();
    const run = worker.run();
    await until(() => ran.includes('never ends'));
    const started = Date.now();
    worker.stop();
    worker.stop();
    expect((await run).reason).toBe('forced');
    expect(Date.now() - started).toBeLessThan(3000);
    const row = await bench.db.knex(bench.db.table).where('id', id).first();
    expect(row).toMatchObject({ attempts: 0, reserved_by: null });
    expect(bench.logs.map((l) => l.msg)).toContain('Job released: never-ends (worker forced to stop; its code did not end and stops with this process)');
  });

  it("takes back a dead worker's job once its lease lapses", async () => {
    bench = await workerBench({ timeout: 30 }, Record);
    await bench.push(Record, { tag: 'orphan' });
    const [held] = await bench.deps.driver.reserve({ queues: null, names: null, limit: 1, leases: { byName: {}, defaultMs: 45_000 } });
    await bench.worker({ stopWhenEmpty: true }).run();
    expect(ran).toEqual([]);
    bench.clock.advance(45_001);
    await bench.worker({ stopWhenEmpty: true }).run();
    expect(ran).toEqual(['orphan']);
    expect(bench.logs.find((l) => l.msg.startsWith('Job executed'))).toMatchObject({ attempt: 2 });
    expect(await bench.deps.driver.ack(held!)).toBe(false);
  });

  it('runs legacy listeners with the payload as their one argument', async () => {
    bench = await workerBench({});
    const got: unknown[] = [];
    Event.listen('rakit.jobs.run: send-notification', (...args: unknown[]) => {
      got.push(args);
    });
    await bench.push('send-notification', { to: 'a@b.c' });
    await bench.worker({ stopWhenEmpty: true }).run();
    expect(got).toEqual([[{ to: 'a@b.c' }]]);
  });

  it('skips the jobs of a cancelled batch: not run, logged as skipped with why, counted apart from done; the batch still finishes', async () => {
    bench = await workerBench({}, Record);
    const b = bench;
    const batch = await new PendingBatch([new Record({ tag: 'a' }), new Record({ tag: 'b' })], () => Promise.resolve(b.deps)).finally(new Record({ tag: 'finally' })).dispatch();
    await batch.cancel();
    const summary = await bench.worker({ stopWhenEmpty: true }).run();
    expect(ran).toEqual(['finally']);
    expect(summary).toMatchObject({ done: 1, skipped: 2 });
    expect(bench.logs.filter((l) => l.status === 'SKIPPED').map((l) => l.msg)).toEqual(['Job skipped: record (its batch was cancelled)', 'Job skipped: record (its batch was cancelled)']);
  });
});
