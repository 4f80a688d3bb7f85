/**
 * The shared-hosting recipe: cron starts `rakit job:runall --stop-when-empty --max-time=55`
 * every minute. Runs that overlap share the work without running a job twice, and a run the
 * host kills (SIGKILL to the whole process group) loses nothing.
 */
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/clock.ts';
import { makeApp, type TestApp } from '../helpers/app.ts';

/** The crontab line of the README, for an app in `dir`. */
export const CRON_COMMAND = (dir: string) => `cd ${dir} && node_modules/.bin/rakit job:runall --stop-when-empty --max-time=55`;

const INVOICE = `import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Jobable } from 'rakit';

export default class Invoice extends Jobable<{ n: number; ms: number }> {
  static timeout = 2;
  static tries = 3;
  async run() {
    appendFileSync('storage/ran.log', \`start \${this.get('n')}\\n\`);
    await sleep(this.get('ms'), undefined, { signal: this.signal }); // its work: time on purpose
    appendFileSync('storage/ran.log', \`done \${this.get('n')}\\n\`);
  }
}
`;

let app: TestApp;
beforeEach(async () => {
  app = makeApp({ database: 'sqlite:storage/jobs.sqlite', sleep_ms: 200 });
  app.write('application/jobs/Invoice.ts', INVOICE);
  await app.rakit(['job:table']);
  await app.rakit(['migrate']);
});
afterEach(() => app?.remove());

/** One cron run: the documented line through sh, in its own process group as cron starts it. */
function cronRun() {
  const child = spawn('sh', ['-c', CRON_COMMAND(app.dir)], { env: app.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let ended = false;
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exit = new Promise<{ code: number | null; output: string }>((resolve) => child.on('close', (code) => {
    ended = true;
    resolve({ code, output });
  }));
  /** It has started working the queue, or ended (its exit code then says how). */
  const working = () => ended || /Worker started on /.test(output);
  return { child, exit, working };
}

async function dispatchInvoices(count: number, ms: number) {
  const source = `import { Job } from 'rakit';
import Invoice from './application/jobs/Invoice.ts';
for (let n = 0; n < ${count}; n++) await Invoice.dispatch({ n, ms: ${ms} });
await Job.close();
`;
  const sent = await app.script('send.ts', source);
  expect(sent.code, sent.stderr).toBe(0);
}

const count = (lines: string[], prefix: string) => {
  const seen = new Map<string, number>();
  for (const line of lines.filter((l) => l.startsWith(`${prefix} `))) seen.set(line.split(' ')[1]!, (seen.get(line.split(' ')[1]!) ?? 0) + 1);
  return seen;
};

describe('cron on shared hosting', () => {
  it('overlapping runs share the jobs and run none twice', async () => {
    await dispatchInvoices(30, 150);
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const run = cronRun();
      runs.push(run.exit);
      // The next minute's run starts while this one works the queue.
      if (i < 2) await until(run.working, { timeoutMs: 30_000, what: `cron run ${i + 1} to start working` });
    }
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.output).toBe(0);
    const done = count(app.ranLog(), 'done');
    expect(done.size).toBe(30);
    expect([...done.values()].every((n) => n === 1)).toBe(true);
    expect([...count(app.ranLog(), 'start').values()].every((n) => n === 1)).toBe(true);
    // More than one run did work.
    const working = results.filter((r) => /Job executed: invoice/.test(r.output)).length;
    expect(working).toBeGreaterThan(1);
    console.log(`3 overlapping cron runs: 30 jobs, each run once; ${working} runs did work`);
  }, 60_000);

  it('a run the host kills loses nothing: the killed job runs again once its lease lapses', async () => {
    await dispatchInvoices(4, 1500);
    const killed = cronRun();
    await until(() => app.ranLog().some((l) => l.startsWith('start')), 15_000);
    process.kill(-killed.child.pid!, 'SIGKILL');
    await killed.exit;
    const killedJob = app.ranLog().find((l) => l.startsWith('start'))!.split(' ')[1]!;
    // The next minutes' runs: the others at once, the killed one when its lease (2 s + 15 s grace) has lapsed.
    const deadline = Date.now() + 40_000;
    while (count(app.ranLog(), 'done').size < 4 && Date.now() < deadline) {
      const r = await cronRun().exit;
      expect(r.code, r.output).toBe(0);
      // Wall time: the killed job comes back only once its lease lapses; a run a second, as cron would start them.
      await new Promise((r) => setTimeout(r, 1000));
    }
    const done = count(app.ranLog(), 'done');
    expect(done.size).toBe(4);
    expect([...done.values()].every((n) => n === 1)).toBe(true);
    expect(count(app.ranLog(), 'start').get(killedJob)).toBe(2);
    const failed = await app.rakit(['job:failed', '--json']);
    expect(JSON.parse(failed.stdout)).toEqual([]);
  }, 60_000);
});
