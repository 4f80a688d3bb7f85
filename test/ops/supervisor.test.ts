/**
 * The config `rakit job:supervisor --write` renders, run by a real supervisord: every program
 * RUNNING, each queue worked off, a SIGKILLed worker brought back, `supervisorctl stop` waiting
 * for the running job, and `job:restart` making every worker exit for supervisor to restart.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/clock.ts';
import { makeApp, REPO, type TestApp } from '../helpers/app.ts';
import { POLL_MS, startSupervisor, type TestSupervisor } from '../helpers/supervisor.ts';
import { renderSupervisorConfig } from '../../src/manager/supervisor-config.ts';

let app: TestApp;
let dir: string;
let sv: TestSupervisor;

beforeAll(async () => {
  app = makeApp({ database: 'sqlite:storage/jobs.sqlite', sleep_ms: 100 });
  await app.rakit(['job:table']);
  await app.rakit(['migrate']);
  dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-sv-'));
  sv = await startSupervisor(dir);
  const written = await app.rakit(['job:supervisor', '--workers=high=2,default=4,low=1', '--retries=3',
    `--log-dir=${dir}/logs`, '--write', path.join(dir, 'conf.d', 'rakit.conf')]);
  expect(written.code, written.stderr).toBe(0);
  expect(existsSync(path.join(dir, 'logs')), '--write creates the log folder').toBe(true);
  expect((await sv.ctl('update')).code).toBe(0);
}, 60_000);

afterAll(async () => {
  await sv?.shutdown();
  app?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 90_000);

const dispatch = (name: string, payload: object, queue: string) =>
  app.rakit(['job:dispatch', name, '--queue', queue, '--payload', JSON.stringify(payload)]);

describe('the rendered supervisor config under supervisord', () => {
  it('renders the three programs with absolute paths, TERM, stopwaitsecs above the longest timeout, and group signals', () => {
    const conf = readFileSync(path.join(dir, 'conf.d', 'rakit.conf'), 'utf8');
    expect(conf).toContain(`command=${process.execPath} ${path.join(REPO, 'bin', 'rakit.js')} job:runall --queue=high --retries=3`);
    expect(conf).toContain(`directory=${app.dir}`);
    expect(conf.match(/^numprocs=\d+$/gm)).toEqual(['numprocs=2', 'numprocs=4', 'numprocs=1']);
    // The longest timeout: the default 60 s of the fixture classes that set none, + 2 s kill grace + 15 s.
    expect(conf.match(/^stopwaitsecs=(\d+)$/m)?.[1]).toBe('77');
    for (const line of ['stopsignal=TERM', 'stopasgroup=true', 'killasgroup=true', `stdout_logfile=${dir}/logs/rakit-low.log`]) expect(conf).toContain(line);
  });

  it('runs every worker, and the jobs dispatched to each queue are worked off', async () => {
    const running = await sv.running(7);
    expect(running.map((p) => p.name).sort()).toEqual([
      'rakit-default:rakit-default_00', 'rakit-default:rakit-default_01', 'rakit-default:rakit-default_02', 'rakit-default:rakit-default_03',
      'rakit-high:rakit-high_00', 'rakit-high:rakit-high_01', 'rakit-low:rakit-low_00',
    ]);
    for (const queue of ['high', 'default', 'low']) for (let i = 0; i < 5; i++) await dispatch('record', { tag: `${queue}-${i}` }, queue);
    await until(() => app.ranLog().length >= 15, 30_000);
    expect(app.ranLog().sort()).toEqual(['default', 'high', 'low'].flatMap((q) => [0, 1, 2, 3, 4].map((i) => `${q}-${i}`)).sort());
    const log = readFileSync(path.join(dir, 'logs', 'rakit-low.log'), 'utf8');
    expect(log).toContain('"msg":"Job executed: record (attempt 1)"');
  }, 60_000);

  it('brings back a worker killed with SIGKILL, and it works', async () => {
    const before = (await sv.running(7)).find((p) => p.name === 'rakit-low:rakit-low_00')!;
    process.kill(before.pid!, 'SIGKILL');
    let after = before;
    await until(async () => {
      after = (await sv.status()).find((p) => p.name === 'rakit-low:rakit-low_00')!;
      return after.state === 'RUNNING' && after.pid !== before.pid;
    }, 20_000, POLL_MS);
    await dispatch('record', { tag: 'after-kill' }, 'low');
    await until(() => app.ranLog().includes('after-kill'), 20_000);
  }, 60_000);

  it('`supervisorctl stop` waits for the running job to finish, and the job is not run again', async () => {
    await dispatch('slow', { ms: 4000 }, 'low');
    await until(() => app.ranLog().some((l) => l.startsWith('slow start')), 20_000);
    const started = Date.now();
    const stop = await sv.ctl('stop', 'rakit-low:*');
    const took = Date.now() - started;
    expect(stop.stdout).toMatch(/rakit-low_00: stopped/);
    // The job ended before the stop returned, on its own (not killed).
    expect(app.ranLog().filter((l) => l.startsWith('slow'))).toEqual([expect.stringMatching(/^slow start/), expect.stringMatching(/^slow done/)]);
    expect(took).toBeGreaterThan(2000);
    const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout) as { queues: { queue: string; ready: number; reserved: number }[] };
    expect(status.queues.find((q) => q.queue === 'low') ?? { ready: 0, reserved: 0 }).toMatchObject({ ready: 0, reserved: 0 });
    expect((await sv.ctl('start', 'rakit-low:*')).code).toBe(0);
    console.log(`supervisorctl stop returned after ${took} ms, once the 4 s job had finished`);
  }, 60_000);

  it('`rakit job:restart` makes every worker exit after its job, and supervisor starts each again', async () => {
    const before = await sv.running(7);
    const restart = await app.rakit(['job:restart']);
    expect(restart.code, restart.stderr).toBe(0);
    let after: typeof before = [];
    await until(async () => {
      after = await sv.status();
      return after.filter((p) => p.state === 'RUNNING').length === 7 &&
        after.every((p) => p.pid !== before.find((b) => b.name === p.name)!.pid);
    }, 30_000, POLL_MS);
    await dispatch('record', { tag: 'after-restart' }, 'high');
    await until(() => app.ranLog().includes('after-restart'), 20_000);
  }, 60_000);
});

describe('supervisor/rakit-worker.conf', () => {
  it('is what job:supervisor renders for /var/www/myapp', () => {
    const example = renderSupervisorConfig({
      name: 'rakit', node: '/usr/bin/node', bin: '/var/www/myapp/node_modules/rakit/bin/rakit.js',
      directory: '/var/www/myapp', user: 'www-data', logDir: '/var/log',
      workers: [{ queue: 'high', processes: 2 }, { queue: 'default', processes: 4 }, { queue: 'low', processes: 1 }],
      flags: ['--retries=3'], longestTimeout: 120,
    });
    expect(readFileSync(path.join(REPO, 'supervisor', 'rakit-worker.conf'), 'utf8')).toBe(example);
  });
});
