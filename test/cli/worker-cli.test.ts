import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines, makeApp, type TestApp } from '../helpers/app.ts';
import { until } from '../helpers/clock.ts';

let app: TestApp;
beforeAll(async () => {
  app = makeApp({ database: 'sqlite:storage/jobs.sqlite', sleep_ms: 50, max_job: 3 });
  await app.rakit(['job:table']);
  await app.rakit(['migrate']);
});
afterAll(() => app?.remove());

const dispatch = (name: string, payload: object, ...rest: string[]) =>
  app.rakit(['job:dispatch', name, '--payload', JSON.stringify(payload), ...rest]);

describe('worker commands', () => {
  it('make:job writes a class that declares timeout and tries, and it runs', async () => {
    const made = await app.rakit(['make:job', 'SendInvoice']);
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('Created application/jobs/SendInvoice.ts (job name "send-invoice")');
    const source = readFileSync(path.join(app.dir, 'application/jobs/SendInvoice.ts'), 'utf8');
    expect(source).toMatch(/static timeout = 120;/);
    expect(source).toMatch(/static tries = 3;/);
    expect((await app.rakit(['make:job', 'SendInvoice'])).code).toBe(2);
    expect((await app.rakit(['make:job', 'send_invoice'])).code).toBe(2);
    expect((await dispatch('send-invoice', { id: 1 })).code).toBe(0);
    const run = await app.rakit(['job:run', 'send-invoice']);
    expect(run.code, run.stderr).toBe(0);
    expect(logLines(run.stderr).map((l) => l.msg)).toContain('Job executed: send-invoice (attempt 1)');
  });

  it('job:run processes only the names given, at most max_job jobs, then exits', async () => {
    for (let i = 0; i < 5; i++) await dispatch('record', { tag: `r${i}` });
    await app.rakit(['job:dispatch', 'notify', '--payload', '{"to":"x@y.z"}']);
    const run = await app.rakit(['job:run', 'record']);
    expect(run.code).toBe(0);
    expect(app.ranLog()).toEqual(['r0', 'r1', 'r2']);
    const rest = await app.rakit(['job:run', 'record', 'notify', '--max-jobs=10']);
    expect(rest.code).toBe(0);
    expect(app.ranLog()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'notify: x@y.z']);
  });

  it('on SIGTERM finishes the running job, then exits 0', async () => {
    await dispatch('slow', { ms: 1500 });
    await dispatch('record', { tag: 'not started' });
    const child = app.spawnRakit(['job:runall']);
    let logs = '';
    child.stderr!.on('data', (d) => (logs += d));
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    await until(() => app.ranLog().some((l) => l.startsWith('slow start')), 20_000);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    const ran = app.ranLog();
    expect(ran.some((l) => l.startsWith('slow done'))).toBe(true);
    expect(ran).not.toContain('not started');
    const msgs = logLines(logs).map((l) => l.msg);
    expect(msgs).toContain('SIGTERM: finishing running jobs, then exiting (send again to stop now)');
    expect(msgs.at(-1)).toMatch(/Worker stopped \(signal\): 1 done/);
    const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout);
    expect(status.queues).toEqual([{ queue: 'default', ready: 1, scheduled: 0, reserved: 0, failed: 0, paused: false }]);
    await app.rakit(['job:clear']);
  });

  it('on a second SIGTERM gives the running job back to the queue uncounted', async () => {
    await dispatch('slow', { ms: 20_000 });
    const child = app.spawnRakit(['job:runall']);
    let logs = '';
    child.stderr!.on('data', (d) => (logs += d));
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    await until(() => app.ranLog().filter((l) => l.startsWith('slow start')).length === 2, 20_000);
    child.kill('SIGTERM');
    await until(() => logs.includes('SIGTERM: finishing running jobs'), { timeoutMs: 10_000, what: 'the worker to take the first SIGTERM' });
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout);
    expect(status.queues).toEqual([{ queue: 'default', ready: 1, scheduled: 0, reserved: 0, failed: 0, paused: false }]);
    await app.rakit(['job:clear']);
  });
});
