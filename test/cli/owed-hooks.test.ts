/**
 * The failed() hooks the process manager owes (for jobs whose process died or was killed) run at
 * least once, whatever happens to the process that carries them and to the manager itself.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO, makeApp, type TestApp } from '../helpers/app.ts';
import { until } from '../helpers/clock.ts';

const BIN = path.join(REPO, 'bin', 'rakit.js');

let app: TestApp;
beforeEach(async () => {
  app = makeApp({ database: 'sqlite:storage/jobs.sqlite', sleep_ms: 50 });
  // Calls process.exit(3) under its job; its failed() hook is the manager's to have run.
  app.write('application/jobs/Exiter.ts', `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';
export default class Exiter extends Jobable {
  static tries = 1;
  run() {
    appendFileSync('storage/ran.log', 'exiter ran\\n');
    process.exit(3);
  }
  async failed(error: Error) {
    // Slow enough that a job spinning in the same process starts before it is done.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    appendFileSync('storage/ran.log', \`exiter failed hook: \${error.name}\\n\`);
  }
}
`);
  expect((await app.rakit(['job:table'])).code).toBe(0);
  expect((await app.rakit(['migrate'])).code).toBe(0);
});
afterEach(() => app?.remove());

const dispatch = (name: string) => app.rakit(['job:dispatch', name]);
const hooks = () => app.ranLog().filter((l) => l.includes('failed hook')).sort();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('failed() hooks the manager owes', () => {
  it('runs both when the process carrying the first is killed for the second job\'s timeout (process.exit(3) and a spin, one queue)', async () => {
    await dispatch('exiter');
    await dispatch('blocker');
    const run = await app.rakit(['job:runall', '--stop-when-empty']);
    expect(run.code, run.stderr).toBe(0);
    expect(hooks(), run.stderr).toEqual(['blocker failed hook: TimeoutError', 'exiter failed hook: WorkerDiedError']);
  });

  it('runs a hook owed by a manager killed with kill -9 mid-hand-off, in the next manager', async () => {
    await dispatch('exiter');
    await dispatch('blocker');
    // The blocker spins in the process the exiter's hook is handed to: the hook waits there.
    const manager = spawn(process.execPath, [BIN, 'job:runall'], { cwd: app.dir, env: app.env, detached: true, stdio: 'ignore' });
    const db = new Database(path.join(app.dir, 'storage', 'jobs.sqlite'), { readonly: true });
    const owed = () => (db.prepare("SELECT COUNT(*) AS n FROM rakit_jobs_records WHERE namespace = 'owed-hook'").get() as { n: number }).n;
    try {
      await until(() => app.ranLog().some((l) => l.startsWith('blocker start')) && owed() > 0, {
        timeoutMs: 60_000, everyMs: 100, what: 'the blocker to start while the failed() hook of the exiter is owed',
      });
      expect(owed()).toBeGreaterThan(0);
      // The whole process group: the manager and the process spinning with the hook unread.
      process.kill(-manager.pid!, 'SIGKILL');
    } catch (error) {
      process.kill(-manager.pid!, 'SIGKILL');
      throw error;
    }
    await new Promise((resolve) => manager.on('exit', resolve));
    expect(hooks()).toEqual([]);
    // The next manager takes over hooks recorded HANDOVER_MS (30 s) ago or more.
    await sleep(30_500); // wall time: the hand-over age is measured on the clock
    const next = await app.rakit(['job:runall', '--stop-when-empty']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/Running the failed\(\) hook of job exiter \(id \d+\) that a stopped manager owed/);
    expect(hooks()).toContain('exiter failed hook: WorkerDiedError');
    expect(owed()).toBe(0);
    db.close();
  }, 120_000);
});
