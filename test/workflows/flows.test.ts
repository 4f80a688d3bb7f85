/**
 * Chains, batches and bulk dispatch in one in-process worker on SQLite: what a user relies on
 * beyond the end-to-end run (test/workflows/workflows.test.ts): a chain stops at a final failure
 * and runs its catch job once; a job never sees its workflow data; a batch job can read and grow
 * its batch; bulk dispatch keeps order and overlap keys; the reserved key is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayloadError } from '../../src/core/errors.ts';
import { PendingBatch } from '../../src/core/flows/pending-batch.ts';
import { PendingChain } from '../../src/core/flows/pending-chain.ts';
import { Job } from '../../src/core/job-facade.ts';
import { Jobable } from '../../src/core/jobable.ts';
import { configure, closeRuntime } from '../../src/core/runtime.ts';
import { workerBench, type WorkerBench } from '../helpers/worker.ts';

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
    bench = await workerBench({}, Step, Grow, Note);
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
    expect(await bench.deps.driver.listFailed()).toHaveLength(1);
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
    await expect(Note.dispatchMany([{ tag: 'ok' }, { $rakit: 1 } as never])).rejects.toThrow(/\$rakit is reserved/);
  });
});
