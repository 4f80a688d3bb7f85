/**
 * The shared-hosting crontab line of the README: each minute, `schedule:run` queues what is due,
 * then `job:runall --stop-when-empty --max-time=50` works the queue, even when the scheduler
 * cannot run. Runs that overlap and a run the host kills (SIGKILL to its process group) lose
 * nothing and run nothing twice.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApp, REPO, type TestApp } from '../helpers/app.ts';
import { until } from '../helpers/clock.ts';
import { roomInMinute } from './minute.ts';

/** The crontab line of the README ("Shared hosting: one crontab line"), word for word. */
const README_CRON = /^```cron\n\* \* \* \* \* (.+schedule:run.+)\n```$/m.exec(readFileSync(path.join(REPO, 'README.md'), 'utf8'))![1]!;

/** That line's command for an app in `dir`, its output to the caller rather than the log file. */
export const SCHEDULER_CRON = (dir: string) => README_CRON.replace('/var/www/myapp', dir).replace(/ >> \S+ 2>&1$/, '');

const INVOICE = `import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Jobable } from 'rakit';

export default class Invoice extends Jobable<{ n: string; ms: number }> {
  static timeout = 2;
  static tries = 3;
  async run() {
    appendFileSync('storage/ran.log', \`start \${this.get('n')}\\n\`);
    await sleep(this.get('ms'), undefined, { signal: this.signal }); // its work: time on purpose
    appendFileSync('storage/ran.log', \`done \${this.get('n')}\\n\`);
  }
}
`;

// One invoice per minute, named after its minute: read at every run, so each minute's is its own.
const SCHEDULE = `import { Schedule } from 'rakit';

Schedule.job('invoice', { n: \`tick-\${new Date().toISOString().slice(11, 16)}\`, ms: 300 }).everyMinute().onOneServer();
`;

let app: TestApp;
beforeEach(async () => {
  app = makeApp({ database: 'sqlite:storage/jobs.sqlite', sleep_ms: 200 });
  app.write('application/jobs/Invoice.ts', INVOICE);
  app.write('application/schedule.ts', SCHEDULE);
  for (const args of [['job:table'], ['schedule:table'], ['migrate']]) {
    const r = await app.rakit(args);
    expect(r.code, r.stderr).toBe(0);
  }
});
afterEach(() => app?.remove());

function cronRun() {
  const child = spawn('sh', ['-c', SCHEDULER_CRON(app.dir)], { env: app.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let ended = false;
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exit = new Promise<{ code: number | null; output: string }>((resolve) => child.on('close', (code) => {
    ended = true;
    resolve({ code, output });
  }));
  /** Past its schedule:run, it works the queue; or it ended (its exit code then says how). */
  const working = () => ended || /Worker started on /.test(output);
  return { child, exit, working };
}

async function dispatch(names: string[], ms: number) {
  const source = `import { Job } from 'rakit';
for (const n of ${JSON.stringify(names)}) await Job.dispatch('invoice', { n, ms: ${ms} });
await Job.close();
`;
  const sent = await app.script('send.ts', source);
  expect(sent.code, sent.stderr).toBe(0);
}

const count = (prefix: string) => {
  const seen = new Map<string, number>();
  for (const line of app.ranLog().filter((l) => l.startsWith(`${prefix} `))) seen.set(line.split(' ')[1]!, (seen.get(line.split(' ')[1]!) ?? 0) + 1);
  return seen;
};

describe('the scheduler\'s crontab line on shared hosting', () => {
  it('is the same line on the Scheduler pages, English and Indonesian', () => {
    for (const page of [['docs', 'scheduler.md'], ['docs', 'id', 'scheduler.md']]) {
      expect(readFileSync(path.join(REPO, ...page), 'utf8')).toContain(`* * * * * ${README_CRON}\n`);
    }
  });

  it('is the same line in the schedule file npx rakit init writes, in each language', () => {
    for (const file of ['ts/application/schedule.ts', 'esm/application/schedule.js', 'cjs/application/schedule.cjs']) {
      expect(readFileSync(path.join(REPO, 'templates', 'init', file), 'utf8')).toContain(`//   * * * * * ${README_CRON.replace('/var/www/myapp', '/path/to/app')}\n`);
    }
  });

  it('writes a log in which every line carries its time: the scheduler\'s lines and the worker\'s JSON lines', async () => {
    await dispatch(['logged'], 10);
    const line = README_CRON.replace('/var/www/myapp', app.dir);
    const child = spawn('sh', ['-c', line], { env: app.env, detached: true, stdio: 'ignore' });
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
    const log = readFileSync(path.join(app.dir, 'storage', 'rakit-cron.log'), 'utf8').split('\n').filter(Boolean);
    expect(log.some((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z invoice: (running|dispatched)/.test(l))).toBe(true);
    expect(log.some((l) => l.includes('"msg":"Job executed: invoice'))).toBe(true);
    const untimed = log.filter((l) => !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /.test(l) && !(l.startsWith('{') && typeof (JSON.parse(l) as { time?: unknown }).time === 'string'));
    expect(untimed, log.join('\n')).toEqual([]);
  });

  it('works the queue in a minute the scheduler cannot run (a bad schedule file)', async () => {
    await dispatch(['job-a', 'job-b'], 50);
    app.write('application/schedule.ts', `import { Schedule } from 'rakit';\nSchedule.job('invoice', { n: 'x', ms: 1 }).cron('61 * * * *');\n`);
    const r = await cronRun().exit;
    expect(r.output).toMatch(/rakit: Bad cron expression "61 \* \* \* \*"/);
    expect(r.code, r.output).toBe(0);
    expect([...count('done').keys()].sort()).toEqual(['job-a', 'job-b']);
  }, 60_000);

  it('overlapping runs queue each minute\'s task once and run every job once', async () => {
    await dispatch(Array.from({ length: 20 }, (_, i) => `job-${i}`), 200);
    await roomInMinute(40);
    const first = cronRun();
    const runs = [first.exit];
    // The second starts while the first works the queue.
    await until(first.working, { timeoutMs: 30_000, what: 'the first cron run to start working' });
    runs.push(cronRun().exit);
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.output).toBe(0);
    const done = count('done');
    expect([...done.keys()].filter((n) => n.startsWith('job-'))).toHaveLength(20);
    expect([...done.keys()].filter((n) => n.startsWith('tick-'))).toHaveLength(1); // one minute, one tick
    expect([...done.values()].every((n) => n === 1)).toBe(true);
    expect([...count('start').values()].every((n) => n === 1)).toBe(true);
    expect(results.filter((r) => /invoice: skipped, another server runs this tick/.test(r.output))).toHaveLength(1);
  }, 90_000);

  it('a run the host kills loses nothing: its job runs again once, every minute\'s task is queued once', async () => {
    await dispatch(['slow-1', 'slow-2', 'slow-3'], 1500);
    const minutes = new Set<string>();
    const minuteRun = async () => {
      await roomInMinute(10);
      minutes.add(new Date().toISOString().slice(11, 16));
      return cronRun();
    };
    const killed = await minuteRun();
    await until(() => app.ranLog().some((l) => l.startsWith('start slow')), 20_000);
    process.kill(-killed.child.pid!, 'SIGKILL');
    await killed.exit;
    // The next minutes' runs; the killed job returns when its lease (2 s + 15 s grace) lapses.
    const deadline = Date.now() + 45_000;
    while (count('done').size < 3 + minutes.size && Date.now() < deadline) {
      const r = await (await minuteRun()).exit;
      expect(r.code, r.output).toBe(0);
      // Wall time: the killed job comes back only once its lease lapses; a run a second, as cron would start them.
      await new Promise((r) => setTimeout(r, 1000));
    }
    const done = count('done');
    expect([...done.keys()].filter((n) => n.startsWith('slow-')).sort()).toEqual(['slow-1', 'slow-2', 'slow-3']);
    expect([...done.values()].every((n) => n === 1)).toBe(true);
    // Each minute a run started in had its task queued, and run, once.
    expect([...done.keys()].filter((n) => n.startsWith('tick-')).sort()).toEqual([...minutes].map((m) => `tick-${m}`).sort());
    const failed = await app.rakit(['job:failed', '--json']);
    expect(JSON.parse(failed.stdout)).toEqual([]);
  }, 90_000);
});
