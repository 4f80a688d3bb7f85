/**
 * What workers tell the dashboard, through the real binary on SQLite and Redis: a paused queue
 * is not claimed from while the others are, and a resume lets it run within about a second;
 * every worker process shows in the worker registry with its pid and running job, and its
 * record says why it stopped (`empty`, or `timeout-kill` for a process the manager killed); the
 * per-minute metrics of a run add up to the jobs it ran, per minute and in the totals.
 */
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminDriver } from '../../src/store/driver.ts';
import { systemClock } from '../../src/infra/clock.ts';
import { resolveConfig } from '../../src/infra/config.ts';
import { createDriver } from '../../src/drivers/index.ts';
import { TOTALS_MINUTE } from '../../src/store/admin-store.ts';
import { makeApp, writeConfig, type TestApp } from '../helpers/app.ts';
import { until } from '../helpers/clock.ts';
import { STORES } from '../helpers/stores.ts';

const FOREVER = `import { Jobable } from 'rakit';
export default class Forever extends Jobable {
  static timeout = 1;
  static tries = 1;
  async run() { await new Promise(() => undefined); }
}
`;

describe.each(STORES.filter((s) => s.label === 'sqlite' || s.label === 'redis'))('workers report to the dashboard ($label)', (store) => {
  let app: TestApp;
  let driver: AdminDriver;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    app = makeApp();
    const setup = await store.setup(app.dir);
    drop = setup.drop;
    writeConfig(app.dir, { logging: true, sleep_ms: 50, ...setup.config });
    app.write('application/jobs/Forever.ts', FOREVER);
    if (store.database) {
      await app.rakit(['job:table']);
      const migrated = await app.rakit(['migrate']);
      expect(migrated.code, migrated.stderr).toBe(0);
    }
    driver = (await createDriver(resolveConfig({ logging: false, ...setup.config }, { root: app.dir }), systemClock)) as AdminDriver;
  }, 60_000);
  afterAll(async () => {
    await driver?.close();
    await drop?.();
    app?.remove();
  });

  const dispatch = async (name: string, payload: object, queue = 'default') => {
    const out = await app.rakit(['job:dispatch', name, `--queue=${queue}`, `--payload=${JSON.stringify(payload)}`, '--json']);
    expect(out.code, out.stderr).toBe(0);
    return (JSON.parse(out.stdout) as { id: string }).id;
  };

  it('claims nothing from a paused queue while it works the others, and runs it within about a second of job:resume', async () => {
    for (const tag of ['a1', 'a2']) await dispatch('record', { tag }, 'alpha');
    for (const tag of ['b1', 'b2']) await dispatch('record', { tag }, 'beta');
    const paused = await app.rakit(['job:pause', 'alpha', '--json']);
    expect(JSON.parse(paused.stdout)).toEqual({ paused: ['alpha'], pausedQueues: ['alpha'] });
    const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout) as { queues: { queue: string; ready: number; paused: boolean }[] };
    expect(status.queues).toContainEqual(expect.objectContaining({ queue: 'alpha', ready: 2, paused: true }));
    expect(status.queues).toContainEqual(expect.objectContaining({ queue: 'beta', paused: false }));

    const worker = app.spawnRakit(['job:runall', '--queue=alpha,beta']);
    try {
      await until(() => app.ranLog().includes('b2'), 15_000);
      // Nothing may happen: 1.5 s without a claim from the paused queue (time itself, a negative check).
      await new Promise((r) => setTimeout(r, 1_500));
      expect(app.ranLog()).toEqual(['b1', 'b2']);
      const resumed = await app.rakit(['job:resume', 'alpha']);
      expect(resumed.stdout).toContain('Resumed alpha');
      const at = Date.now();
      await until(() => app.ranLog().includes('a2'), 5_000);
      expect(Date.now() - at).toBeLessThan(1_500);
      expect((await app.rakit(['job:resume', 'alpha'])).stdout).toContain('Not paused: alpha');
    } finally {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
    }
  }, 60_000);

  it('lists a running worker process with its pid and running job, and says why it stopped', async () => {
    const id = await dispatch('pid', { tag: 'slow', ms: 6_500 });
    const run = app.rakit(['job:runall', '--stop-when-empty']);
    let live: Awaited<ReturnType<AdminDriver['listWorkers']>>[number] | undefined;
    await until(async () => {
      live = (await driver.listWorkers(Date.now())).find((w) => w.stoppedAt === null && w.running.some((r) => r.id === id));
      return live !== undefined;
    }, 12_000, 200);
    expect(live!.running).toEqual([expect.objectContaining({ id, name: 'pid', queue: 'default' })]);
    expect((await run).code).toBe(0);
    const pid = Number(app.ranLog().find((l) => l.startsWith('pid slow'))!.split(' ')[3]);
    expect(live!.pid).toBe(pid);
    const record = (await driver.listWorkers(Date.now())).find((w) => w.id === live!.id)!;
    expect(record).toMatchObject({ pid, end: 'empty', done: 1, failed: 0, running: [] });
    expect(record.stoppedAt).not.toBeNull();

    // --in-process: no manager, the worker records itself.
    await dispatch('record', { tag: 'inline' });
    expect((await app.rakit(['job:runall', '--in-process', '--stop-when-empty'])).code).toBe(0);
    const inline = (await driver.listWorkers(Date.now())).find((w) => w.done === 1 && w.end === 'empty' && w.id !== live!.id);
    expect(inline).toBeDefined();
  }, 60_000);

  it("records 'timeout-kill' for a process the manager killed at a job's timeout", async () => {
    const before = new Set((await driver.listWorkers(Date.now())).map((w) => w.id));
    await dispatch('forever', {});
    expect((await app.rakit(['job:runall', '--stop-when-empty'])).code).toBe(0);
    const ends = (await driver.listWorkers(Date.now())).filter((w) => !before.has(w.id)).map((w) => w.end);
    expect(ends).toContain('timeout-kill');
    expect(ends).not.toContain(null);
  }, 60_000);

  it('counts every job of a run in the per-minute metrics and in the totals', async () => {
    const from = Date.now() - 60_000;
    for (let i = 0; i < 5; i++) await dispatch('record', { tag: `m${i}` }, 'counted');
    for (let i = 0; i < 2; i++) await dispatch('always-fails', { n: i }, 'counted');
    await dispatch('flaky', {}, 'counted');
    expect((await app.rakit(['job:runall', '--queue=counted', '--stop-when-empty', '--concurrency=4'])).code).toBe(0);
    const sum = (samples: { done: number; failed: number; retried: number; buckets: number[] }[]) => samples.reduce(
      (t, s) => ({ done: t.done + s.done, failed: t.failed + s.failed, retried: t.retried + s.retried, bucketed: t.bucketed + s.buckets.reduce((a, b) => a + b, 0) }),
      { done: 0, failed: 0, retried: 0, bucketed: 0 });
    // 8 jobs: 5 + 1 done, 2 failed; 2 + 2 attempts retried: 12 attempts, each in one runtime bucket.
    const expected = { done: 6, failed: 2, retried: 4, bucketed: 12 };
    const minutes = (await driver.readMetrics(from, Date.now() + 60_000)).filter((s) => s.queue === 'counted');
    expect(sum(minutes)).toEqual(expected);
    const totals = (await driver.readMetrics(TOTALS_MINUTE, TOTALS_MINUTE + 1)).filter((s) => s.queue === 'counted');
    expect(sum(totals)).toEqual(expected);
    expect(totals.map((s) => s.name).sort()).toEqual(['always-fails', 'flaky', 'record']);
    for (const s of totals) expect(s.waitMs).toBeGreaterThanOrEqual(0);
  }, 60_000);
});
