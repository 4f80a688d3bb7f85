/**
 * The sync driver: a dispatch runs its jobs before it resolves, in this process, with their
 * middleware, tries and failed(); a final failure rejects the dispatch; chains, batches and
 * nested dispatches run, and jobs a batch job adds to its batch; delays and backoffs are not waited
 * for; job:runall has nothing to run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Jobable } from '../../src/api/jobable.ts';
import { Job } from '../../src/api/job-facade.ts';
import { closeRuntime, configure } from '../../src/api/runtime.ts';
import type { JobMiddleware } from '../../src/api/job-types.ts';
import { SYNC_NOTHING_TO_RUN } from '../../src/commands/work/job-runall.ts';
import { resolveConfig } from '../../src/infra/config.ts';
import { makeApp } from '../helpers/app.ts';
import { rakitInProcess } from '../helpers/in-process.ts';

const seen: string[] = [];
const tag: JobMiddleware = async (job, next) => {
  seen.push(`before ${String(job.payload.step)}`);
  return next();
};

class Step extends Jobable<{ step: string }> {
  static middleware = [tag];
  run() {
    seen.push(this.payload.step);
  }
}
class Flaky extends Jobable<{ failures: number }> {
  static tries = 3;
  static backoff = 60;
  run() {
    seen.push(`attempt ${this.attempt}`);
    if (this.attempt <= this.payload.failures) throw new Error(`flaky ${this.attempt}`);
  }
  failed(error: Error) {
    seen.push(`failed: ${error.message}`);
  }
}
class Grower extends Jobable<{ more: string[] }> {
  async run() {
    seen.push('grower');
    const batch = await this.batch();
    await batch!.add(this.payload.more.map((step) => new Step({ step })));
    seen.push('grower added');
  }
}
class Parent extends Jobable {
  async run() {
    seen.push('parent start');
    await Step.dispatch({ step: 'child' });
    seen.push('parent end');
  }
}

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-sync-'));
  await configure({ driver: 'sync' }, { root: dir, logger: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await closeRuntime();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  seen.length = 0;
});

describe('the sync driver', () => {
  it('runs the job before the dispatch resolves, with its middleware', async () => {
    const result = await Step.dispatch({ step: 'one' });
    expect(result.id).toBeTruthy();
    expect(seen).toEqual(['before one', 'one']);
  });

  it('runs the tries at once, without waiting out the backoff', async () => {
    const started = Date.now();
    await Flaky.dispatch({ failures: 2 });
    expect(seen).toEqual(['attempt 1', 'attempt 2', 'attempt 3']);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('throws the final failure to the dispatcher, after failed()', async () => {
    await expect(Flaky.dispatch({ failures: 5 })).rejects.toThrow('flaky 3');
    expect(seen).toEqual(['attempt 1', 'attempt 2', 'attempt 3', 'failed: flaky 3']);
  });

  it('runs a delayed job now', async () => {
    await Step.dispatch({ step: 'later' }).delay(3600);
    await Step.dispatchAt(new Date(Date.now() + 86_400_000), { step: 'tomorrow' });
    expect(seen).toEqual(['before later', 'later', 'before tomorrow', 'tomorrow']);
  });

  it('runs bulk dispatches', async () => {
    await Step.dispatchMany([{ step: 'a' }, { step: 'b' }]);
    expect(seen.filter((s) => !s.startsWith('before'))).toEqual(['a', 'b']);
  });

  it('runs a chain in order, and its catch job when a step fails, rejecting the dispatch', async () => {
    await Job.chain([new Step({ step: '1' }), new Step({ step: '2' })]).dispatch();
    expect(seen).toEqual(['before 1', '1', 'before 2', '2']);
    seen.length = 0;
    await expect(Job.chain([new Step({ step: 'x' }), new Flaky({ failures: 9 }), new Step({ step: 'never' })]).catch(new Step({ step: 'caught' })).dispatch())
      .rejects.toThrow('flaky 3');
    expect(seen).toContain('caught');
    expect(seen).not.toContain('never');
  });

  it('runs a batch and its callbacks', async () => {
    const batch = await Job.batch([new Step({ step: 'p' }), new Step({ step: 'q' })]).then(new Step({ step: 'then' })).finally(new Step({ step: 'finally' })).dispatch();
    expect(seen.filter((s) => !s.startsWith('before')).sort()).toEqual(['finally', 'p', 'q', 'then']);
    expect((await batch.fresh())?.finished).toBe(true);
  });

  it('runs the jobs a batch job adds to its batch before the batch finishes', async () => {
    const batch = await Job.batch([new Grower({ more: ['r', 's'] })]).then(new Step({ step: 'then' })).dispatch();
    const ran = seen.filter((s) => !s.startsWith('before'));
    expect(ran.slice(0, 2)).toEqual(['grower', 'grower added']);
    expect(ran.slice(2, 4).sort()).toEqual(['r', 's']);
    expect(ran[4]).toBe('then');
    const fresh = await batch.fresh();
    expect([fresh?.finished, fresh?.totalJobs, fresh?.processedJobs]).toEqual([true, 3, 3]);
  });

  it('counts the final failure of an added job for its batch, throwing it to no one', async () => {
    class FlakyGrower extends Jobable {
      async run() {
        await (await this.batch())!.add([new Flaky({ failures: 9 })]);
      }
    }
    const batch = await Job.batch([new FlakyGrower({})]).allowFailures().finally(new Step({ step: 'finally' })).dispatch();
    expect(seen).toContain('failed: flaky 3');
    expect(seen.at(-1)).toBe('finally');
    const fresh = await batch.fresh();
    expect([fresh?.finished, fresh?.totalJobs, fresh?.failedJobs]).toEqual([true, 2, 1]);
  });

  it('runs a dispatch made by a running job inside it', async () => {
    await Parent.dispatch();
    expect(seen).toEqual(['parent start', 'before child', 'child', 'parent end']);
  });

  it('runs dispatches made together one after another', async () => {
    await Promise.all([Step.dispatch({ step: 'a' }), Step.dispatch({ step: 'b' })]);
    expect(seen.filter((s) => !s.startsWith('before')).sort()).toEqual(['a', 'b']);
  });

  it('is chosen by JOB_DRIVER=sync', () => {
    expect(resolveConfig({ driver: 'database' }, { root: dir, env: { JOB_DRIVER: 'sync' } }).driver).toBe('sync');
  });

  it('job:runall says there is nothing to run', async () => {
    const app = makeApp({ driver: 'sync' });
    try {
      const result = await rakitInProcess(app.dir, ['job:runall']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(SYNC_NOTHING_TO_RUN);
    } finally {
      await closeRuntime();
      rmSync(app.dir, { recursive: true, force: true });
    }
  });
});
