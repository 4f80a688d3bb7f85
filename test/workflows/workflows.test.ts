/**
 * Chains and batches end to end, through the real binary, on every store: a batch of 1,000 jobs
 * with 10 failures and allowFailures() over 4 worker processes counts every job, runs catch and
 * finally once and then never; a chain of three on three queues runs in order.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.ts';
import { STORES } from '../helpers/stores.ts';

const JOBS = {
  'application/jobs/BatchItem.ts': `import { Jobable } from 'rakit';
export default class BatchItem extends Jobable<{ n: number }> {
  static tries = 1;
  run() {
    if (this.get('n') % 100 === 7) throw new Error('item ' + this.get('n') + ' fails on purpose');
  }
}
`,
  'application/jobs/BatchReport.ts': `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';
export default class BatchReport extends Jobable<{ tag: string }> {
  static tries = 1;
  async run() {
    const b = await this.batch();
    appendFileSync('storage/ran.log', this.get('tag') + ' total=' + b?.totalJobs + ' processed=' + b?.processedJobs + ' failed=' + b?.failedJobs + ' pending=' + b?.pendingJobs + '\\n');
  }
}
`,
  'application/jobs/Step.ts': `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';
export default class Step extends Jobable<{ n: number }> {
  static tries = 1;
  async run() {
    await new Promise((r) => setTimeout(r, 20)); // its work: time on purpose
    appendFileSync('storage/ran.log', 'step ' + this.get('n') + ' on ' + this.queue + '\\n');
  }
}
`,
};

const DISPATCH = `import { Job } from 'rakit';
import BatchItem from './application/jobs/BatchItem.ts';
import BatchReport from './application/jobs/BatchReport.ts';
import Step from './application/jobs/Step.ts';

const batch = await Job.batch(Array.from({ length: 1000 }, (_, n) => new BatchItem({ n })))
  .then(new BatchReport({ tag: 'then' }))
  .catch(Job.make('batch-report', { tag: 'catch' }))
  .finally(Job.make('batch-report', { tag: 'finally' }))
  .allowFailures().name('e2e').onQueue('items').dispatch();
const chain = await Job.chain([new Step({ n: 1 }).onQueue('one'), new Step({ n: 2 }).onQueue('two'), Job.make('step', { n: 3 }).onQueue('three')]).dispatch();
console.log(JSON.stringify({ batch: batch.id, total: batch.totalJobs, chain: chain.jobs.length }));
await Job.close();
`;

describe.each(STORES.filter((s) => s.label !== 'redis cluster'))('workflows on $label', (store) => {
  let app: TestApp;
  let drop = async () => {};
  afterAll(async () => {
    await drop();
    app?.remove();
  });

  it('a batch of 1,000 jobs with 10 failures over 4 processes, and a chain of three on three queues', async () => {
    app = makeApp({ logging: false });
    const setup = await store.setup(app.dir);
    drop = setup.drop;
    app.write('application/config/job.ts', `export default ${JSON.stringify({ logging: false, sleep_ms: 50, ...setup.config })};\n`);
    if (store.database) {
      await app.rakit(['job:table']);
      expect((await app.rakit(['migrate'])).code).toBe(0);
    }
    for (const [file, source] of Object.entries(JOBS)) app.write(file, source);

    const dispatched = await app.script('dispatch.ts', DISPATCH);
    expect(dispatched.code, dispatched.stderr).toBe(0);
    const { batch, total } = JSON.parse(dispatched.stdout.trim().split('\n').pop()!) as { batch: string; total: number };
    expect(total).toBe(1000);

    const started = Date.now();
    const run = await app.rakit(['job:runall', '--processes', '4', '--concurrency', '8', '--stop-when-empty']);
    const seconds = (Date.now() - started) / 1000;
    expect(run.code, run.stderr).toBe(0);

    const listed = await app.rakit(['job:batches', '--json']);
    const [info] = (JSON.parse(listed.stdout) as { batches: Record<string, unknown>[] }).batches;
    expect(info).toMatchObject({ id: batch, name: 'e2e', totalJobs: 1000, processedJobs: 1000, pendingJobs: 0, failedJobs: 10, progress: 100 });
    const ran = app.ranLog();
    expect(ran.filter((l) => l.startsWith('catch')).length).toBe(1);
    expect(ran.filter((l) => l.startsWith('finally'))).toEqual(['finally total=1000 processed=1000 failed=10 pending=0']);
    expect(ran.filter((l) => l.startsWith('then'))).toEqual([]);
    expect(ran.filter((l) => l.startsWith('step'))).toEqual(['step 1 on one', 'step 2 on two', 'step 3 on three']);
    const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout) as { queues: { ready: number; scheduled: number; reserved: number }[] };
    expect(status.queues.every((q) => q.ready + q.scheduled + q.reserved === 0)).toBe(true);
    console.log(`workflows on ${store.label}: 1,000-job batch + 3-job chain over 4 processes in ${seconds.toFixed(1)} s`);
  }, 120_000);
});

describe('a cancelled batch on redis', () => {
  let app: TestApp;
  let drop = async () => {};
  afterAll(async () => {
    await drop();
    app?.remove();
  });

  it('counts every job not run as skipped with --concurrency=4 (one claim gives several jobs one token)', async () => {
    const store = STORES.find((s) => s.label === 'redis')!;
    app = makeApp({ logging: false });
    const setup = await store.setup(app.dir);
    drop = setup.drop;
    app.write('application/config/job.ts', `export default ${JSON.stringify({ logging: false, sleep_ms: 50, ...setup.config })};\n`);
    for (const [file, source] of Object.entries(JOBS)) app.write(file, source);
    const dispatched = await app.script('dispatch.ts', `import { Job } from 'rakit';
import BatchItem from './application/jobs/BatchItem.ts';
const batch = await Job.batch(Array.from({ length: 40 }, (_, n) => new BatchItem({ n: n * 10 }))).finally(Job.make('batch-report', { tag: 'finally' })).name('doomed').dispatch();
console.log(batch.id);
await Job.close();
`);
    expect(dispatched.code, dispatched.stderr).toBe(0);
    const id = dispatched.stdout.trim().split('\n').pop()!;
    expect((await app.rakit(['job:batches', 'cancel', id])).stdout).toContain('Cancelled batch doomed');
    const run = await app.rakit(['job:runall', '--concurrency', '4', '--stop-when-empty']);
    expect(run.code, run.stderr).toBe(0);
    const [info] = (JSON.parse((await app.rakit(['job:batches', '--json'])).stdout) as { batches: Record<string, unknown>[] }).batches;
    expect(info).toMatchObject({ id, totalJobs: 40, skippedJobs: 40, doneJobs: 0, pendingJobs: 0, status: 'cancelled' });
    expect(app.ranLog()).toEqual(['finally total=40 processed=40 failed=0 pending=0']);
  }, 60_000);
});
