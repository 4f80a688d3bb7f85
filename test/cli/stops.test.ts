/**
 * The second SIGTERM/SIGINT stops for real: everything in flight goes back to the queue without
 * counting an attempt and the command exits within 3 s, through the manager (a process whose job
 * blocks the event loop is killed) and with --in-process (where a blocking job cannot be
 * interrupted, and the output says so).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines, makeApp, type TestApp } from '../helpers/app.ts';
import { until } from '../helpers/clock.ts';
import { childPids, gone } from '../helpers/processes.ts';

let app: TestApp;
beforeAll(async () => {
  app = makeApp({ database: 'sqlite:storage/jobs.sqlite', sleep_ms: 50 });
  app.write('application/jobs/Busy.ts', `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';
/** Blocks the event loop for \`ms\`. */
export default class Busy extends Jobable<{ ms: number }> {
  static timeout = 20;
  run() {
    appendFileSync('storage/ran.log', 'busy start\\n');
    const end = Date.now() + this.get('ms', 0);
    while (Date.now() < end) { /* a synchronous render */ }
    appendFileSync('storage/ran.log', 'busy end\\n');
  }
}
`);
  app.write('application/jobs/Waits.ts', `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';
/** Awaits 15 s, ignoring its signal. */
export default class Waits extends Jobable {
  static timeout = 20;
  async run() {
    appendFileSync('storage/ran.log', 'waits start\\n');
    await new Promise((r) => setTimeout(r, 15_000)); // its work: time on purpose
    appendFileSync('storage/ran.log', 'waits end\\n');
  }
}
`);
  app.write('application/jobs/Naps.ts', `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';
/** Awaits 2 s, ignoring its signal. */
export default class Naps extends Jobable {
  static timeout = 20;
  async run() {
    appendFileSync('storage/ran.log', 'naps start\\n');
    await new Promise((r) => setTimeout(r, 2000)); // its work: time on purpose
    appendFileSync('storage/ran.log', 'naps end\\n');
  }
}
`);
  await app.rakit(['job:table']);
  await app.rakit(['migrate']);
});
afterAll(() => app?.remove());

/**
 * Runs the worker, waits for `started` in the ran log, signals twice; the time from the second
 * signal to the exit. `loopBlocked`: the job blocks the event loop of the process that gets the
 * signals (--in-process), which cannot take the first before the second comes.
 */
async function stopTwice(args: string[], started: string, signal: NodeJS.Signals = 'SIGINT', loopBlocked = false) {
  rmSync(path.join(app.dir, 'storage', 'ran.log'), { force: true });
  const child = app.spawnRakit(['job:runall', ...args]);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  await until(() => app.ranLog().includes(started), 30_000);
  const workers = childPids(child.pid!);
  child.kill(signal);
  if (loopBlocked) {
    // Nothing to wait on: the process says nothing until the job ends. Both signals come while it is blocked.
    await new Promise((r) => setTimeout(r, 300));
  } else {
    await until(() => stderr.includes(`${signal}: finishing running jobs`), { timeoutMs: 10_000, what: `the worker to take the first ${signal}` });
  }
  const second = Date.now();
  child.kill(signal);
  const code = await exit;
  // Before the next run starts: the worker processes it killed are gone as well.
  await until(() => workers.every(gone), { timeoutMs: 10_000, what: 'the worker processes of the stopped run to exit' });
  return { code, ms: Date.now() - second, msgs: logLines(stderr).map((l) => l.msg) };
}

async function expectGivenBackUncounted() {
  const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout);
  expect(status.queues).toEqual([{ queue: 'default', ready: 1, scheduled: 0, reserved: 0, failed: 0, paused: false }]);
  const failed = JSON.parse((await app.rakit(['job:failed', '--json'])).stdout);
  expect(failed).toEqual([]);
  await app.rakit(['job:clear']);
  await app.rakit(['job:flush']);
}

describe('a second signal', () => {
  for (const [name, payload, started] of [['busy', '{"ms":15000}', 'busy start'], ['waits', '{}', 'waits start']] as const) {
    it(`through the manager, kills the process of a job that ${name === 'busy' ? 'blocks the event loop' : 'ignores its signal'} and gives the job back, within 3 s`, async () => {
      await app.rakit(['job:dispatch', name, '--payload', payload]);
      const run = await stopTwice([], started);
      expect(run.code).toBe(0);
      expect(run.ms).toBeLessThan(3000);
      expect(run.msgs).toContain('SIGINT again: releasing running jobs and exiting');
      expect(run.msgs.at(-1)).toMatch(/^Worker stopped \(forced\)/);
      expect(app.ranLog()).not.toContain(`${name} end`);
      await expectGivenBackUncounted();
    });
  }

  it('with --in-process, gives back a job that ignores its signal and exits within 3 s', async () => {
    await app.rakit(['job:dispatch', 'waits']);
    const run = await stopTwice(['--in-process'], 'waits start', 'SIGTERM');
    expect(run.code).toBe(0);
    expect(run.ms).toBeLessThan(3000);
    expect(run.msgs).toContain('Job released: waits (worker forced to stop; its code did not end and stops with this process)');
    await expectGivenBackUncounted();
  });

  it('with --in-process, says that a job blocking the event loop cannot be interrupted; the worker exits once it ends', async () => {
    await app.rakit(['job:dispatch', 'busy', '--payload', '{"ms":4000}']);
    const run = await stopTwice(['--in-process'], 'busy start', 'SIGINT', true);
    expect(run.code).toBe(0);
    expect(run.msgs).toContain('--in-process: a job that blocks the event loop or ignores its AbortSignal cannot be stopped, at its timeout or by a signal');
    // The signals wait for the loop: the job ran to its end, then the worker stopped at once.
    expect(app.ranLog()).toEqual(['busy start', 'busy end']);
    expect(run.ms).toBeLessThan(4000 + 3000);
    // Two signals sent while the loop is blocked may arrive as one.
    expect(run.msgs.at(-1)).toMatch(/^Worker stopped \((signal|forced)\): 1 done/);
  });
});

describe('a manager lost after its first signal', () => {
  it('leaves its worker process finishing the running job, not forced to stop', async () => {
    rmSync(path.join(app.dir, 'storage', 'ran.log'), { force: true });
    await app.rakit(['job:dispatch', 'naps']);
    const manager = app.spawnRakit(['job:runall']);
    let stderr = '';
    manager.stderr!.on('data', (d) => (stderr += d));
    await until(() => app.ranLog().includes('naps start'), 30_000);
    manager.kill('SIGTERM'); // the first phase: finish the running jobs
    await until(() => stderr.includes('SIGTERM: finishing running jobs'), { timeoutMs: 10_000, what: 'the manager to take the SIGTERM' });
    manager.kill('SIGKILL'); // the worker process loses its manager
    await until(() => app.ranLog().includes('naps end'), 10_000);
    // Done and acknowledged: not given back to the queue as a forced stop would.
    await until(async () => {
      const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout);
      return status.queues.length === 0 || (status.queues[0].ready === 0 && status.queues[0].reserved === 0);
    }, 10_000);
    const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout);
    expect(status.queues.filter((q: { ready: number; reserved: number }) => q.ready + q.reserved > 0)).toEqual([]);
    expect(JSON.parse((await app.rakit(['job:failed', '--json'])).stdout)).toEqual([]);
  });
});
