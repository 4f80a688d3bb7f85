/**
 * The process manager: hard timeouts that stop a job blocking the event loop, crashed worker
 * processes, --memory and max_job recycling — through the real binary.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logLines, makeApp, type TestApp } from '../helpers/app.ts';
import { requireMemcached, uniqueName } from '../helpers/servers.ts';
import { parseStrict } from '../helpers/strict-json.ts';

let app: TestApp;
beforeEach(async () => {
  app = makeApp({ database: 'sqlite:storage/jobs.sqlite', sleep_ms: 50, max_job: 3 });
  await app.rakit(['job:table']);
  await app.rakit(['migrate']);
});
afterEach(() => app?.remove());

const dispatch = (name: string, payload: object = {}) => app.rakit(['job:dispatch', name, '--payload', JSON.stringify(payload)]);
const failed = async () => JSON.parse((await app.rakit(['job:failed', '--json'])).stdout) as { name: string; exception: string; attempts: number }[];

describe('the process manager', () => {
  it('stops a for(;;){} job at its timeout by killing its process, records a TimeoutError, and the other jobs complete', async () => {
    await dispatch('blocker');
    for (let i = 0; i < 4; i++) await dispatch('pid', { tag: `p${i}`, ms: 300 });
    const started = Date.now();
    const run = await app.rakit(['job:runall', '--stop-when-empty', '--concurrency=2']);
    const took = Date.now() - started;
    expect(run.code, run.stderr).toBe(0);
    const [f] = await failed();
    expect(f).toMatchObject({ name: 'blocker', attempts: 1 });
    expect(f!.exception).toMatch(/^TimeoutError: Job "blocker" \(id \d+\) ran past its timeout of 2 s and was stopped by killing its worker process/);
    const ran = app.ranLog();
    expect(ran.filter((l) => l.startsWith('pid ')).map((l) => l.split(' ')[1]).sort()).toEqual(['p0', 'p1', 'p2', 'p3']);
    expect(ran).toContain('blocker failed hook: TimeoutError');
    expect(took).toBeLessThan(15_000);
    const msgs = logLines(run.stderr).map((l) => l.msg);
    expect(msgs.some((m) => /ran past its timeout of 2 s: killing worker process \d+/.test(m))).toBe(true);
    console.log(`blocker stopped; the run took ${took} ms`);
  });

  it('gives the killed process\'s other jobs back uncounted', async () => {
    await dispatch('pid', { tag: 'bystander', ms: 4000 });
    await dispatch('blocker');
    const run = await app.rakit(['job:runall', '--stop-when-empty', '--concurrency=2']);
    expect(run.code).toBe(0);
    const lines = app.ranLog().filter((l) => l.startsWith('pid bystander'));
    // It was running beside the blocker, released uncounted, and finished on its first counted attempt.
    expect(lines).toHaveLength(1);
    expect(lines[0]!.split(' ')[2]).toBe('1');
    expect(logLines(run.stderr).map((l) => l.msg)).toContain('Job released: pid (its worker process was stopped)');
  });

  it('restarts a process that dies under a job, and counts that attempt', async () => {
    await dispatch('crasher');
    await dispatch('pid', { tag: 'after' });
    const run = await app.rakit(['job:runall', '--stop-when-empty']);
    expect(run.code).toBe(0);
    const crashes = app.ranLog().filter((l) => l.startsWith('crasher'));
    expect(crashes.map((l) => l.split(' ')[1])).toEqual(['1', '2']);
    expect(new Set(crashes.map((l) => l.split(' ')[2])).size).toBe(2);
    const [f] = await failed();
    expect(f).toMatchObject({ name: 'crasher', attempts: 2 });
    expect(f!.exception).toMatch(/The worker process running job "crasher" \(id \d+\) died \(exit code 7\)/);
    expect(app.ranLog()).toContain(app.ranLog().find((l) => l.startsWith('pid after')));
    // Every line is one JSON object with each key once: the manager's pid and the child's apart.
    const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
    const parsed = lines.map((l) => parseStrict(l) as { msg: string; pid: number; childPid?: number });
    const died = parsed.find((l) => /died \(code 7\)/.test(l.msg));
    expect(died?.childPid).toBeGreaterThan(0);
    expect(died?.childPid).not.toBe(died?.pid);
  });

  it('replaces a worker process after max_job jobs, without a gap: its successor is ready before it stops claiming', async () => {
    app.write('application/jobs/Stamp.ts', `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';
export default class Stamp extends Jobable {
  async run() {
    const start = Date.now();
    await new Promise((r) => setTimeout(r, 150)); // its work: time on purpose
    appendFileSync('storage/ran.log', \`stamp \${process.pid} \${start} \${Date.now()}\\n\`);
  }
}
`);
    const queued = await app.script('queue-stamps.ts', `import { Job } from 'rakit';
import Stamp from './application/jobs/Stamp.ts';
for (let i = 0; i < 16; i++) await Stamp.dispatch({});
await Job.close();
`);
    expect(queued.code, queued.stderr).toBe(0);
    // RAKIT_RECYCLE_LIFE=0: replaced right at max_job, not only once it has worked ten times its start.
    const run = await app.rakit(['job:runall', '--stop-when-empty'], { RAKIT_RECYCLE_LIFE: '0' });
    expect(run.code).toBe(0);
    const stamps = app.ranLog().map((l) => l.split(' ').slice(1).map(Number)) as [number, number, number][];
    expect(stamps).toHaveLength(16);
    const pids = [...new Set(stamps.map(([pid]) => pid))];
    expect(pids.length).toBeGreaterThan(1);
    // Every process but the last ran at least max_job (3) jobs: it claimed on until its successor was ready.
    for (const pid of pids.slice(0, -1)) expect(stamps.filter(([p]) => p === pid).length).toBeGreaterThanOrEqual(3);
    // No gap at a hand-over: the next job starts as soon as the one before ends (a process start takes far longer).
    stamps.sort((a, b) => a[1] - b[1]);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]![1] - stamps[i - 1]![2]).toBeLessThan(120);
    expect(logLines(run.stderr).map((l) => l.msg).at(-1)).toBe('Worker stopped (empty): 16 done, 0 retried, 0 failed');
  }, 120_000);

  it('does not replace a process of quick jobs before it has worked ten times as long as it took to start', async () => {
    for (let i = 0; i < 8; i++) await dispatch('pid', { tag: `q${i}`, ms: 10 });
    const run = await app.rakit(['job:runall', '--stop-when-empty']);
    expect(run.code, run.stderr).toBe(0);
    const ran = app.ranLog().filter((l) => l.startsWith('pid q'));
    expect(ran).toHaveLength(8);
    expect(new Set(ran.map((l) => l.split(' ')[3])).size).toBe(1);
    expect(logLines(run.stderr).map((l) => l.msg).at(-1)).toBe('Worker stopped (empty): 8 done, 0 retried, 0 failed');
  }, 60_000);

  it('counts --max-jobs and the summary over the whole run, across processes', async () => {
    for (let i = 0; i < 8; i++) await dispatch('pid', { tag: `r${i}`, ms: 100 });
    const run = await app.rakit(['job:runall', '--max-jobs=3', '--processes=2']);
    expect(run.code).toBe(0);
    expect(app.ranLog()).toHaveLength(3);
    const msgs = logLines(run.stderr).map((l) => l.msg);
    expect(msgs.at(-1)).toBe('Worker stopped (max-jobs): 3 done, 0 retried, 0 failed');
    expect(msgs.filter((m) => m.startsWith('Worker started'))).toHaveLength(1);
    await app.rakit(['job:clear']);
  });

  it('refuses more than 64 --processes with a clear error', async () => {
    const run = await app.rakit(['job:runall', '--processes=1000']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--processes 1000 is more than 64/);
  });

  it('replaces a worker process that grows past --memory, after its job', async () => {
    // The job stays over --memory for several heartbeats: it must still finish, once.
    await dispatch('pid', { tag: 'hog', hog: 150, ms: 3500 });
    await dispatch('pid', { tag: 'next' });
    const run = await app.rakit(['job:runall', '--stop-when-empty', '--memory=120']);
    expect(run.code).toBe(0);
    expect(logLines(run.stderr).map((l) => l.msg)).not.toContain('Job released: pid (worker forced to stop)');
    expect(app.ranLog().filter((l) => l.startsWith('pid hog'))).toHaveLength(1);
    const [hog, next] = app.ranLog();
    expect(hog).toMatch(/^pid hog 1 /);
    expect(next).toMatch(/^pid next 1 /);
    expect(hog!.split(' ')[3]).not.toBe(next!.split(' ')[3]);
  });

  it('runs --processes worker processes', async () => {
    for (let i = 0; i < 6; i++) await dispatch('pid', { tag: `w${i}`, ms: 500 });
    expect((await app.rakit(['job:runall', '--stop-when-empty', '--processes=3'])).code).toBe(0);
    expect(new Set(app.ranLog().map((l) => l.split(' ')[3])).size).toBe(3);
  });

  it('with --in-process runs jobs in the command\'s own process', async () => {
    await dispatch('pid', { tag: 'inline' });
    const run = await app.rakit(['job:runall', '--stop-when-empty', '--in-process']);
    expect(run.code).toBe(0);
    const [line] = app.ranLog();
    expect(Number(line!.split(' ')[3])).toBe(logLines(run.stderr)[0]!.pid);
  });
});

describe('a run of several worker processes on memcached', () => {
  it("says the driver's warning once per run, not at every worker process start", async () => {
    const mem = makeApp({ driver: 'memcached', memcached: await requireMemcached(), prefix: uniqueName('warn'), sleep_ms: 50, max_job: 2 });
    try {
      for (let i = 0; i < 5; i++) await mem.rakit(['job:dispatch', 'pid', '--payload', JSON.stringify({ tag: `w${i}` })]);
      const run = await mem.rakit(['job:runall', '--stop-when-empty', '--processes=2']);
      expect(run.code, run.stderr).toBe(0);
      expect(mem.ranLog()).toHaveLength(5);
      const lines = logLines(run.stderr);
      expect(lines.filter((l) => l.level === 40 && /memcached/i.test(l.msg))).toHaveLength(1);
      expect(lines.at(-1)!.msg).toBe('Worker stopped (empty): 5 done, 0 retried, 0 failed');
    } finally {
      mem.remove();
    }
  }, 120_000);
});
