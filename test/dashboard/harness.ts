/**
 * A dashboard over a store with real jobs in it, and a real browser to look at it: an app
 * (test/helpers/app.ts) whose jobs were dispatched and run by the real binary (done, retried,
 * failed, scheduled, overlapping, paused), schedule runs and a held schedule lock, then
 * `rakit job:dashboard` serving it, and headless Chromium.
 */
import { createServer } from 'node:net';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { expect } from 'vitest';
import { RUNTIME_BUCKETS_MS } from '../../src/store/admin-store.ts';
import type { AdminDriver } from '../../src/store/driver.ts';
import { configure, closeRuntime } from '../../src/api/runtime.ts';
import { ScheduleStore } from '../../src/schedule/store.ts';
import { makeApp, type TestApp } from '../helpers/app.ts';

export const SCREENSHOTS = path.resolve(import.meta.dirname, '..', '..', 'docs', 'screenshots');

const SCHEDULE = `import { Schedule } from 'rakit';
Schedule.job('record', { tag: 'nightly' }).dailyAt('23:00').name('nightly-report');
Schedule.call(() => undefined).name('heartbeat').everyMinute();
Schedule.call(() => { throw new Error('the mail server said no'); }).name('mail-digest').everyMinute();
`;

const DISPATCH = `
import { Job } from 'rakit';
import Record from './application/jobs/Record.ts';
import Flaky from './application/jobs/Flaky.ts';
import AlwaysFails from './application/jobs/AlwaysFails.ts';
await Record.dispatch({ tag: 'welcome' }).onQueue('high');
await Record.dispatch({ tag: 'report' });
await Flaky.dispatch({});
await AlwaysFails.dispatch({ account: { email: 'ada@example.com', password: 'hunter2' } });
await AlwaysFails.dispatch({ n: 2 }).onQueue('low');
await AlwaysFails.dispatch({ n: 3 }).onQueue('low');
await Job.close();
`;

const PENDING = `
import { Job } from 'rakit';
import Record from './application/jobs/Record.ts';
const later = new Date(Date.now() + 3_600_000);
console.log(JSON.stringify([
  await Record.dispatch({ tag: 'later', token: 'abc', user: { password: 'hunter2' } }, later),
  await Record.dispatch({ tag: 'invoice-2026-11' }, later).withoutOverlapping(),
  await Record.dispatch({ tag: 'invoice-2026-11' }, later).withoutOverlapping(),
  await Record.dispatch({ tag: 'cleanup' }, new Date(Date.now() + 7_200_000)).onQueue('low'),
  await Record.dispatch({ tag: 'ready-1' }).onQueue('mail'),
  await Record.dispatch({ tag: 'ready-2' }).onQueue('mail'),
]));
await Job.close();
`;

export interface Fixture {
  app: TestApp;
  config: Record<string, unknown>;
  /** The pending jobs' ids, in PENDING's order (the skipped overlap is null). */
  pending: (string | null)[];
}

/** An app over `storeConfig` with the jobs, runs and locks described above. */
export async function fixtureApp(storeConfig: Record<string, unknown>, migrate: boolean): Promise<Fixture> {
  const config = { ...storeConfig, backoff: 0, sleep_ms: 50, dashboard_mask: ['password', 'token'] };
  const app = makeApp(config);
  app.write('application/schedule.ts', SCHEDULE);
  if (migrate) for (const args of [['job:table'], ['schedule:table'], ['migrate']]) expect((await app.rakit(args)).code).toBe(0);
  const ran = await app.script('dispatch.ts', DISPATCH);
  expect(ran.code, ran.stderr).toBe(0);
  const worker = await app.rakit(['job:runall', '--queue=high,default,low', '--stop-when-empty']);
  expect(worker.code, worker.stderr).toBe(0);
  const pending = await app.script('pending.ts', PENDING);
  expect(pending.code, pending.stderr).toBe(0);
  const ids = (JSON.parse(pending.stdout.trim().split('\n').at(-1)!) as { id?: string }[]).map((r) => r.id ?? null);
  expect((await app.rakit(['schedule:run'])).code).toBe(0);
  expect((await app.rakit(['job:pause', 'mail'])).code).toBe(0);
  // A run that never ended holds its task's lock (as a killed one leaves it).
  const rt = await configure(config, { root: app.dir });
  const admin = rt.driver as AdminDriver;
  await workersAndMetrics(admin, Date.now());
  const store = new ScheduleStore(rt.driver, rt.clock);
  expect(await store.acquire('overlap:nightly-report', 'run-7f3a', 3_600_000)).toBe(true);
  await closeRuntime();
  return { app, config, pending: ids };
}

/** The beat of a worker on another host, running a report (beat again within LIVE_WITHIN_MS to keep it live). */
export async function beatWeb1(admin: AdminDriver, now: number): Promise<void> {
  const startedAt = Math.floor(now / 86_400_000) * 86_400_000;
  await admin.beat({
    id: `web-1:4242:${startedAt}`, host: 'web-1', pid: 4242, queues: ['high', 'default', 'low'], startedAt, beatAt: now, done: 1_204, failed: 3,
    running: [{ id: '1', name: 'generate-report', queue: 'default', startedAt: now - 4_000 }],
  });
}

/** A worker on another host, one that crashed, and an hour of per-minute metrics. */
async function workersAndMetrics(admin: AdminDriver, now: number): Promise<void> {
  await beatWeb1(admin, now);
  const crashed = { id: `web-2:977:${now - 7_200_000}`, host: 'web-2', pid: 977, queues: null, running: [], startedAt: now - 7_200_000, beatAt: now - 60_000, done: 310, failed: 1 };
  await admin.beat(crashed);
  await admin.workerStopped(crashed.id, 'crash', now - 55_000);
  const minute = Math.floor(now / 60_000) * 60_000;
  await admin.addMetrics(Array.from({ length: 60 }, (_, i) => {
    const done = 20 + Math.round(10 * Math.sin(i / 6)) + (i % 7);
    const buckets = RUNTIME_BUCKETS_MS.map(() => 0).concat(0);
    buckets[4] = Math.round(done * 0.6);
    buckets[6] = done - buckets[4]!;
    return { minute: minute - (60 - i) * 60_000, queue: 'default', name: 'record', done, failed: i % 11 === 0 ? 2 : 0, retried: i % 5 === 0 ? 1 : 0, runtimeMs: done * 180, waitMs: done * (40 + (i % 9) * 15), buckets };
  }));
}

/** `n` more failed jobs on `queue`, failed by the real worker. */
export async function failMore(fixture: Fixture, queue: string, n: number): Promise<void> {
  const dispatched = await fixture.app.script('more.ts', `import AlwaysFails from './application/jobs/AlwaysFails.ts';
for (let i = 0; i < ${n}; i++) await AlwaysFails.dispatch({ i }).onQueue('${queue}');
`);
  expect(dispatched.code, dispatched.stderr).toBe(0);
  const worker = await fixture.app.rakit(['job:runall', `--queue=${queue}`, '--stop-when-empty']);
  expect(worker.code, worker.stderr).toBe(0);
}

/** The app's own driver, as the dashboard sees the store. */
export async function driverOf(fixture: Fixture): Promise<AdminDriver> {
  return (await configure(fixture.config, { root: fixture.app.dir })).driver as AdminDriver;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Served {
  url: string;
  /** What it printed until it listened. */
  said: string;
  stop(): Promise<void>;
}

/** `rakit job:dashboard` in the app, once it says it listens. */
export async function serve(app: TestApp, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const port = await freePort();
  const child = app.spawnRakit(['job:dashboard', '--port', String(port), ...args], env);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      output += d;
      if (output.includes('Dashboard on')) resolve();
    });
    child.stderr!.on('data', (d) => (output += d));
    child.on('close', (code) => reject(new Error(`job:dashboard exited ${code}: ${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    said: output,
    async stop() {
      child.removeAllListeners('close');
      const closed = new Promise((resolve) => child.on('close', resolve));
      child.kill('SIGTERM');
      await closed;
    },
  };
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
