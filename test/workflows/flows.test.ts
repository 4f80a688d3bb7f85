/**
 * Chains, batches and bulk dispatch in one in-process worker on SQLite: what a user relies on
 * beyond the end-to-end run (test/workflows/workflows.test.ts): a chain stops at a final failure
 * and runs its catch job once; a job never sees its workflow data; a batch job can read and grow
 * its batch; bulk dispatch keeps order and overlap keys; the reserved key is refused; a job
 * cancelled by hand settles its workflow, a running one too (Job.cancel); a cancelled batch whose jobs were cleared finishes;
 * misuse of a chain is refused saying why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayloadError } from '../../src/infra/errors.ts';
import { cancelFromOutside } from '../../src/flows/batches/batch-gone.ts';
import { batchView } from '../../src/flows/batches/batch-record.ts';
import { listBatches, readBatch } from '../../src/flows/batches/batch-store.ts';
import { cancelPendingJob } from '../../src/flows/cancel-job.ts';
import { PendingBatch } from '../../src/flows/batches/pending-batch.ts';
import { PendingChain } from '../../src/flows/pending-chain.ts';
import { Job } from '../../src/api/job-facade.ts';
import { Jobable } from '../../src/api/jobable.ts';
import { configure, closeRuntime } from '../../src/api/runtime.ts';
import { workerBench, type WorkerBench } from '../helpers/worker.ts';
import { allFailed } from '../helpers/failed.ts';

const ran: string[] = [];

class Step extends Jobable<{ n: number; fail?: boolean }> {
  static tries = 2;
  static backoff = 0;
  run() {
    ran.push(`step ${this.get('n')} ${Object.keys(this.payload).join(',')}`);
    if (this.get('fail')) throw new Error(`step ${this.get('n')} fails`);
  }
}
class Grow extends Jobable<{ n: number }> {
  async run() {
    const batch = await this.batch();
    ran.push(`grow ${this.get('n')} of ${batch?.totalJobs}`);
    if (this.get('n') === 0) await batch!.add([new Grow({ n: 10 }), new Grow({ n: 11 })]);
  }
}
/** Runs until its signal aborts (a cancel). */
class Waits extends Jobable<{ tag: string }> {
  static jobName = 'waits';
  async run() {
    ran.push(`waits ${this.get('tag')}`);
    await new Promise((resolve) => this.signal.addEventListener('abort', resolve, { once: true }));
  }
}
class Note extends Jobable<{ tag: string }> {
  static jobName = 'note';
  uniqueId() {
    return this.get('tag');
  }
  async run() {
    const batch = await this.batch();
    ran.push(`${this.get('tag')}${batch ? ` ${batch.processedJobs}/${batch.totalJobs}` : ''}`);
  }
}

describe('workflows in one worker', () => {
  let bench: WorkerBench;
  const env = () => Promise.resolve(bench.deps);
  const work = () => bench.worker({ stopWhenEmpty: true }).run();

  beforeAll(async () => {
    bench = await workerBench({}, Step, Grow, Note, Waits);
  });
  afterAll(async () => {
    await closeRuntime();
    await bench.deps.driver.close();
    await bench.db.drop();
  });

  it('a chain stops at a job that finally fails (after its tries), drops the rest and runs catch once; jobs never see $rakit', async () => {
    ran.length = 0;
    const chain = await new PendingChain([new Step({ n: 1 }), new Step({ n: 2, fail: true }), new Step({ n: 3 })], env)
      .catch(new Note({ tag: 'chain failed' })).dispatch();
    expect(chain.jobs.map((j) => j.name)).toEqual(['step', 'step', 'step']);
    await work();
    expect(ran).toEqual(['step 1 n', 'step 2 n,fail', 'step 2 n,fail', 'chain failed']);
    expect(await bench.deps.driver.getJob(chain.jobs[2]!.id)).toBeNull();
    expect(await allFailed(bench.deps.driver)).toHaveLength(1);
  });

  it('a job reads its batch and adds jobs to it; finally sees every job', async () => {
    ran.length = 0;
    await new PendingBatch([new Grow({ n: 0 }), new Grow({ n: 1 })], env).finally(new Note({ tag: 'finally' })).dispatch();
    await work();
    expect(ran.filter((l) => l.startsWith('grow')).length).toBe(4);
    expect(ran.at(-1)).toBe('finally 4/4');
  });

  it('dispatchMany stores one job per payload in order, skipping a repeated overlap key', async () => {
    await configure(bench.deps.config, { clock: bench.clock, logger: bench.deps.logger });
    const results = await Note.dispatchMany([{ tag: 'a' }, { tag: 'b' }, { tag: 'a' }]).onQueue('bulk').withoutOverlapping();
    expect(results.map((r) => r.skipped ?? r.queue)).toEqual(['bulk', 'bulk', 'overlapping']);
    const named = await Job.dispatchMany('note', [{ tag: 'c' }]).delay(60);
    expect(named[0]!.scheduledAt!.getTime()).toBeGreaterThan(bench.clock.now() + 59_000);
    await expect(Note.dispatch({ $rakit: 1 } as never)).rejects.toThrow(PayloadError);
    await expect(Note.dispatchMany([{ tag: 'ok' }, { $rakit: 1 } as never])).rejects.toThrow(/^dispatchMany\(\) payload \[1\]: .*\$rakit is reserved/);
  });

  it('a batch job cancelled by hand counts as not run, so the batch finishes; a cancelled chain step takes the rest and the catch with it', async () => {
    ran.length = 0;
    const driver = bench.deps.driver;
    const batch = await new PendingBatch([1, 2, 3].map((n) => new Note({ tag: `member ${n}` })), env).finally(new Note({ tag: 'finally' })).onQueue('members').dispatch();
    const { jobs } = await driver.listJobs({ state: 'ready', queue: 'members', search: null, offset: 0, limit: 10 });
    expect(await cancelPendingJob(driver, jobs[0]!, bench.clock.now())).toBe(true);
    expect(await cancelPendingJob(driver, jobs[0]!, bench.clock.now())).toBe(false); // once
    await bench.worker({ stopWhenEmpty: true, queues: ['members'] }).run();
    expect(ran.at(-1)).toBe('finally 3/3');
    expect(batchView((await readBatch(driver, batch.id))!)).toMatchObject({ doneJobs: 2, skippedJobs: 1, status: 'finished' });

    const chain = await new PendingChain([new Step({ n: 1 }), new Step({ n: 2 }), new Step({ n: 3 })], env).catch(new Note({ tag: 'caught' })).dispatch();
    expect(await cancelPendingJob(driver, (await driver.getJob(chain.jobs[0]!.id))!, bench.clock.now())).toBe(true);
    for (const id of [chain.jobs[1]!.id, chain.jobs[2]!.id, chain.catchId!]) expect(await driver.getJob(id)).toBeNull();
  });

  it('a running chain step cancelled takes the rest and the catch with it; a running batch job cancelled counts as not run', async () => {
    ran.length = 0;
    const driver = bench.deps.driver;
    await configure(bench.deps.config, { clock: bench.clock, logger: bench.deps.logger });
    const chain = await new PendingChain([new Waits({ tag: 'chain' }), new Step({ n: 9 })], env).catch(new Note({ tag: 'caught' })).dispatch();
    const batch = await new PendingBatch([new Waits({ tag: 'batch' }), new Note({ tag: 'member' })], env).finally(new Note({ tag: 'finally' })).onQueue('cancels').dispatch();
    const member = (await driver.listJobs({ state: null, queue: 'cancels', search: 'waits', offset: 0, limit: 10 })).jobs[0]!.id;
    const running = bench.worker({ stopWhenEmpty: true, queues: ['cancels', 'default'], concurrency: 4 }).run();
    for (let i = 0; i < 500 && ran.filter((l) => l.startsWith('waits')).length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await Job.cancel(chain.jobs[0]!.id)).toBe('requested');
    expect(await Job.cancel(member)).toBe('requested');
    const summary = await running;
    expect(summary).toMatchObject({ failed: 0, retried: 0 });
    expect(ran).not.toContain('step 9 n');
    expect(ran).not.toContain('caught');
    for (const id of [chain.jobs[0]!.id, chain.jobs[1]!.id, chain.catchId!, member]) expect(await driver.getJob(id)).toBeNull();
    expect(ran.at(-1)).toBe('finally 2/2');
    expect(batchView((await readBatch(driver, batch.id))!)).toMatchObject({ doneJobs: 1, skippedJobs: 1, status: 'finished' });
    expect(await allFailed(driver)).toHaveLength(1); // the first test's, only
  });

  it('cancelling a batch whose remaining jobs were cleared (job:clear) finishes it and runs finally; listing keeps the newest created', async () => {
    ran.length = 0;
    const driver = bench.deps.driver;
    const batch = await new PendingBatch([1, 2, 3].map((n) => new Note({ tag: `cleared ${n}` })), env)
      .then(new Note({ tag: 'then' }).onQueue('default')).finally(new Note({ tag: 'finally' }).onQueue('default')).onQueue('doomed').dispatch();
    bench.clock.advance(1000);
    const newer = await new PendingBatch([new Note({ tag: 'newer' })], env).onQueue('newer').dispatch();
    expect(await driver.clear('doomed')).toBe(3);
    const cancelled = await cancelFromOutside(driver, batch.id, bench.clock.now());
    expect(cancelled).toMatchObject({ cancelled: true, gone: 3 });
    expect(batchView(cancelled.record!)).toMatchObject({ skippedJobs: 3, status: 'cancelled' });
    expect(await cancelFromOutside(driver, batch.id, bench.clock.now())).toMatchObject({ cancelled: false, gone: 0 });
    await work();
    expect(ran.filter((line) => /^(then|finally|cleared)/.test(line))).toEqual(['finally 3/3']);
    // The older batch was written last; the newest created is still listed first.
    expect((await listBatches(driver, 1)).map((b) => b.id)).toEqual([newer.id]);
  });

  it('a chain refuses what it cannot do, saying so: awaited without dispatch(), a delay on a held job, not an array', async () => {
    const before = (await bench.deps.driver.listJobs({ state: null, queue: null, search: null, offset: 0, limit: 500 })).total;
    // TypeScript already flags the await; plain JavaScript gets the rejection.
    await expect((async () => await (new PendingChain([new Step({ n: 1 })], env) as unknown))()).rejects.toThrow(/not a promise.*\.dispatch\(\)/);
    await expect(new PendingChain([new Step({ n: 1 }), new Step({ n: 2 }).delay(30)], env).dispatch()).rejects.toThrow(/chain\[1\] has a delay/);
    await expect(new PendingBatch([new Step({ n: 1 })], env).finally(new Note({ tag: 'later' }).delay(5)).dispatch()).rejects.toThrow(/finally job has a delay/);
    await expect(new PendingChain('step' as never, env).dispatch()).rejects.toThrow('Job.chain() takes an array of jobs');
    expect((await bench.deps.driver.listJobs({ state: null, queue: null, search: null, offset: 0, limit: 500 })).total).toBe(before);
  });
});
