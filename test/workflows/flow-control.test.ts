/**
 * Middleware, job events and progress through the real binary: a rateLimited class at 10 per
 * second run by 16 workers (4 processes of 4) on every store never starts more than 10 jobs in a
 * second and uses no attempt for a hold-back; on SQLite and the file store, `--stop-when-empty`
 * waits for every held-back job even when the processes holding them are replaced (max_job) and
 * logs the hold-backs at debug only; on SQLite, concurrencyLimited, skipIf, release()
 * from run(), Job.on listeners (a throwing one too, and outcomes the process manager settled),
 * and progress shown by `job:status --json` and the dashboard's Jobs page.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines, makeApp, type TestApp } from '../helpers/app.ts';
import { until } from '../helpers/clock.ts';
import { STORES } from '../helpers/stores.ts';
import { appOnStore } from '../helpers/app-on-store.ts';

const LIMITED = `import { appendFileSync } from 'node:fs';
import { Jobable, rateLimited } from 'rakit';
export default class Limited extends Jobable<{ n: number }> {
  static middleware = [rateLimited({ key: 'partner-api', max: 10, per: 1 })];
  run() {
    appendFileSync('storage/starts.log', \`\${Date.now()} \${this.attempt} \${this.get('n')}\\n\`);
  }
}
`;

const EVENTS = `import { appendFileSync } from 'node:fs';
import { Job } from 'rakit';
Job.on('completed', (e) => appendFileSync('storage/events.log', \`completed \${e.job.name} \${e.job.id}\\n\`));
Job.on('released', (e) => appendFileSync('storage/events.log', \`released \${e.job.name} \${e.job.id} \${e.retryAt}\\n\`));
Job.on('retrying', (e) => appendFileSync('storage/events.log', \`retrying \${e.job.name} \${e.job.attempt} \${e.error?.name}\\n\`));
Job.on('failed', (e) => appendFileSync('storage/events.log', \`failed \${e.job.name} \${e.job.attempt} \${e.error?.name}\\n\`));
Job.on('completed', () => {
  throw new Error('a broken listener');
});
`;

const lines = (app: TestApp, file: string) => {
  const full = path.join(app.dir, 'storage', file);
  return existsSync(full) ? readFileSync(full, 'utf8').split('\n').filter(Boolean) : [];
};

/** The most starts within any `ms` (sliding), and within one calendar second. */
function busiest(starts: number[], ms = 1_000): { sliding: number; calendar: number } {
  const sorted = [...starts].sort((a, b) => a - b);
  let sliding = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= ms) j++;
    sliding = Math.max(sliding, i - j + 1);
  }
  const perSecond = new Map<number, number>();
  for (const t of sorted) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  return { sliding, calendar: Math.max(...perSecond.values()) };
}

const JOBS = 40;

for (const store of STORES.filter((s) => s.label !== 'redis cluster')) {
  describe(`rate limit on ${store.label}`, () => {
    let app: TestApp;
    appOnStore(store, { 'application/jobs/Limited.ts': LIMITED, 'application/events.ts': EVENTS }, (made) => (app = made));

    it(`a rateLimited class at 10 per second with 16 workers (4 processes x 4) never starts more than 10 in a second, and a hold-back uses no attempt`, async () => {
      const queued = await app.script('queue.ts', `import { Job } from 'rakit';
import Limited from './application/jobs/Limited.ts';
for (let n = 0; n < ${JOBS}; n++) await Limited.dispatch({ n });
await Job.close();
`);
      expect(queued.code, queued.stderr).toBe(0);
      const run = await app.rakit(['job:runall', '--processes=4', '--concurrency=4', '--stop-when-empty']);
      expect(run.code, run.stderr.slice(-2000)).toBe(0);
      if (lines(app, 'starts.log').length < JOBS) console.log((await app.rakit(['job:status', '--json'])).stdout, run.stderr.split('\n').filter((l) => !/Job (executed|released)/.test(l)).join('\n').slice(-3000));
      const starts = lines(app, 'starts.log').map((l) => l.split(' ').map(Number) as [number, number, number]);
      expect(starts.map(([, , n]) => n).sort((a, b) => a - b)).toEqual(Array.from({ length: JOBS }, (_, n) => n));
      // Held back over and over, every job still ran on its first counted attempt.
      expect(starts.every(([, attempt]) => attempt === 1)).toBe(true);
      const times = starts.map(([t]) => t);
      const { sliding, calendar } = busiest(times);
      const span = Math.max(...times) - Math.min(...times);
      const events = lines(app, 'events.log');
      const released = events.filter((l) => l.startsWith('released limited')).length;
      if (sliding > 10) console.log(times.sort((a, b) => a - b).map((t) => t - times[0]!).join(" "));
      const sorted = [...times].sort((a, b) => a - b);
      const closest11 = Math.min(...sorted.slice(10).map((t, i) => t - sorted[i]!));
      console.log(`${store.label}: ${JOBS} rate-limited jobs started over ${span} ms; most starts in a calendar second ${calendar}, in any sliding second ${sliding}; the closest 11 starts spanned ${closest11} ms; ${released} hold-backs`);
      expect(calendar).toBeLessThanOrEqual(10);
      expect(sliding).toBeLessThanOrEqual(10);
      expect(span).toBeGreaterThanOrEqual(2_900);
      // Job.on: every completion told (the throwing listener changed nothing), and the hold-backs.
      expect(events.filter((l) => l.startsWith('completed limited')).length).toBe(JOBS);
      expect(released).toBeGreaterThan(0);
      expect(logLines(run.stderr).filter((l) => /A Job\.on\('completed'\) listener threw/.test(l.msg)).length).toBe(JOBS);
      expect(JSON.parse((await app.rakit(['job:failed', '--json'])).stdout)).toEqual([]);
    }, 120_000);
  });
}

for (const store of STORES.filter((s) => s.label === 'sqlite' || s.label === 'file')) {
  it(`--stop-when-empty on ${store.label} exits only once every held-back job has run, its processes replaced every 10 jobs`, async () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'rakit-empty-'));
    const made = await store.setup(scratch);
    const app = makeApp({ ...made.config, sleep_ms: 1000, max_job: 10 }, { RAKIT_RECYCLE_LIFE: '0' });
    try {
      app.write('application/jobs/Limited.ts', LIMITED);
      app.write('application/events.ts', EVENTS);
      if (store.database) {
        await app.rakit(['job:table']);
        expect((await app.rakit(['migrate'])).code).toBe(0);
      }
      const queued = await app.script('queue.ts', `import { Job } from 'rakit';
import Limited from './application/jobs/Limited.ts';
await Limited.dispatchMany(Array.from({ length: 30 }, (_, n) => ({ n })));
await Job.close();
`);
      expect(queued.code, queued.stderr).toBe(0);
      const run = await app.rakit(['job:runall', '--stop-when-empty']);
      expect(run.code, run.stderr.slice(-2000)).toBe(0);
      expect(lines(app, 'starts.log')).toHaveLength(30);
      const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout) as { queues: { ready: number; scheduled: number }[] };
      expect(status.queues.every((q) => q.ready === 0 && q.scheduled === 0)).toBe(true);
      const logged = logLines(run.stderr);
      expect(logged.at(-1)?.msg).toBe('Worker stopped (empty): 30 done, 0 retried, 0 failed');
      // Hold-backs are told to Job.on('released'), and logged at debug only.
      expect(lines(app, 'events.log').filter((l) => l.startsWith('released limited')).length).toBeGreaterThan(0);
      expect(logged.filter((l) => /Job released/.test(l.msg))).toEqual([]);
    } finally {
      app.remove();
      await made.drop();
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 60_000);
}

describe('middleware, events and progress on SQLite', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = makeApp({ database: 'sqlite:storage/jobs.sqlite', sleep_ms: 50 });
    await app.rakit(['job:table']);
    expect((await app.rakit(['migrate'])).code).toBe(0);
    app.write('application/events.ts', EVENTS);
    app.write('application/jobs/Capped.ts', `import { appendFileSync } from 'node:fs';
import { Jobable, concurrencyLimited } from 'rakit';
export default class Capped extends Jobable {
  static middleware = [concurrencyLimited({ key: 'pdf', max: 2 })];
  async run() {
    appendFileSync('storage/capped.log', \`start \${Date.now()}\\n\`);
    await new Promise((r) => setTimeout(r, 150)); // its work, holding its place: time on purpose
    appendFileSync('storage/capped.log', \`end \${Date.now()}\\n\`);
  }
}
`);
    app.write('application/jobs/Skippable.ts', `import { appendFileSync } from 'node:fs';
import { Jobable, skipIf } from 'rakit';
export default class Skippable extends Jobable<{ n: number; skip: boolean }> {
  static middleware = [skipIf((job: Skippable) => job.get('skip'))];
  run() {
    appendFileSync('storage/ran.log', \`skippable \${this.get('n')}\\n\`);
  }
}
`);
    app.write('application/jobs/Later.ts', `import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { Jobable } from 'rakit';
export default class Later extends Jobable {
  static tries = 1;
  run() {
    if (!existsSync('storage/later.flag')) {
      writeFileSync('storage/later.flag', '');
      return this.release(0.3);
    }
    appendFileSync('storage/ran.log', \`later \${this.attempt}\\n\`);
  }
}
`);
    app.write('application/jobs/Reporter.ts', `import { appendFileSync, existsSync } from 'node:fs';
import { Jobable } from 'rakit';
export default class Reporter extends Jobable {
  static timeout = 30;
  async run() {
    await this.progress(40, 'chunk 4/10');
    appendFileSync('storage/ran.log', 'reporter 40\\n');
    // Waits (up to 20 s) for the test's go, once the test has read the progress at 40.
    for (let i = 0; i < 400 && !existsSync('storage/go'); i++) await new Promise((r) => setTimeout(r, 50));
    await this.progress(100, 'all 10 chunks');
  }
}
`);
  }, 60_000);
  afterAll(() => app?.remove());

  it('holds a concurrency limit, skips, releases uncounted, fires Job.on for outcomes the manager settled, and shows progress on job:status and the dashboard', async () => {
    const queued = await app.script('queue.ts', `import { Job } from 'rakit';
import Capped from './application/jobs/Capped.ts';
import Skippable from './application/jobs/Skippable.ts';
import Later from './application/jobs/Later.ts';
import Reporter from './application/jobs/Reporter.ts';
const reporter = await Reporter.dispatch();
console.log(reporter.id);
for (let n = 0; n < 8; n++) await Capped.dispatch();
await Skippable.dispatch({ n: 1, skip: true });
await Skippable.dispatch({ n: 2, skip: false });
await Later.dispatch();
await Job.close();
`);
    expect(queued.code, queued.stderr).toBe(0);
    const reporterId = queued.stdout.trim();
    const worker = app.spawnRakit(['job:runall', '--processes=2', '--concurrency=4', '--stop-when-empty']);
    let stderr = '';
    worker.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => worker.on('exit', (code) => resolve(code)));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const dashboard = app.spawnRakit(['job:dashboard', `--port=${port}`, '--read-only']);
    try {
      await until(() => app.ranLog().includes('reporter 40'), { timeoutMs: 10_000, everyMs: 50, what: 'the reporter job to report 40 %' });
      const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout) as { progress: { id: string; percent: number; message: string; name: string }[] };
      expect(status.progress).toContainEqual(expect.objectContaining({ id: reporterId, name: 'reporter', percent: 40, message: 'chunk 4/10' }));
      let page = '';
      await until(async () => (page = await fetch(`http://127.0.0.1:${port}/jobs`).then((r) => r.text(), () => '')) !== '', {
        timeoutMs: 10_000, everyMs: 100, what: 'the dashboard to answer GET /jobs',
      });
      const row = /<tr data-job="[^"]+">(?:(?!<\/tr>)[\s\S])*reporter(?:(?!<\/tr>)[\s\S])*<\/tr>/.exec(page)?.[0] ?? page;
      expect(row).toContain('<progress max="100" value="40">');
      expect(row).toContain('chunk 4/10');
      writeFileSync(path.join(app.dir, 'storage', 'go'), '');
      expect(await exited, stderr.slice(-2000)).toBe(0);
    } finally {
      worker.kill();
      dashboard.kill();
    }
    // At most 2 Capped jobs ran at once, across both processes.
    let running = 0;
    let most = 0;
    const capped = lines(app, 'capped.log').map((l) => l.split(' ')).map(([what, t]) => [what, Number(t)] as const).sort((a, b) => a[1] - b[1] || (a[0] === 'end' ? -1 : 1));
    for (const [what] of capped) most = Math.max(most, (running += what === 'start' ? 1 : -1));
    expect(capped.filter(([what]) => what === 'start')).toHaveLength(8);
    expect(most).toBeLessThanOrEqual(2);
    const ran = app.ranLog();
    expect(ran.filter((l) => l.startsWith('skippable'))).toEqual(['skippable 2']);
    expect(ran).toContain('later 1'); // released from run() and run again on its first counted attempt
    // A job whose process dies: its attempts are settled by the manager, and their listeners run in a worker process.
    await app.rakit(['job:dispatch', 'crasher']);
    const crashed = await app.rakit(['job:runall', '--stop-when-empty']);
    expect(crashed.code).toBe(0);
    const events = lines(app, 'events.log');
    expect(events, crashed.stderr).toContain('retrying crasher 1 WorkerDiedError');
    expect(events).toContain('failed crasher 2 WorkerDiedError');
    expect(events.filter((l) => l.startsWith('completed skippable'))).toHaveLength(1);
    const final = JSON.parse((await app.rakit(['job:status', '--json'])).stdout) as { progress: { id: string; percent: number }[]; queues: { ready: number; scheduled: number }[] };
    expect(final.progress).toContainEqual(expect.objectContaining({ id: reporterId, percent: 100 }));
    expect(final.queues.every((q) => q.ready === 0 && q.scheduled === 0)).toBe(true);
  }, 90_000);
});
