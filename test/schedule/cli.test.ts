/**
 * The scheduler as a user runs it: `rakit schedule:*` in apps that installed rakit. Two apps
 * sharing one store run `schedule:run` for the same minute at once; a run killed with kill -9
 * frees its lock; a run that froze past its lock's TTL does not release the next run's lock.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, existsSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noTasksHint } from '../../src/schedule/load.ts';
import { makeApp, REPO, type TestApp } from '../helpers/app.ts';
import { until } from '../helpers/clock.ts';
import { STORES } from '../helpers/stores.ts';
import { roomInMinute } from './minute.ts';

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

const SCHEDULE = (log: string) => `import { appendFileSync } from 'node:fs';
import { Schedule } from 'rakit';

const note = (what: string) => () => appendFileSync(${JSON.stringify(log)}, \`\${what} \${process.env.APP}:\${process.pid}\\n\`);
Schedule.call(note('once')).name('once').everyMinute().onOneServer();
Schedule.call(note('each')).name('each').everyMinute();
`;

const shared = STORES.filter((s) => s.label !== 'redis cluster');

describe('two apps sharing one store run schedule:run for the same minute', () => {
  for (const store of shared) {
    it(`${store.label}: each onOneServer task ran once, the others on every run`, async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-shared-'));
      const { config, drop } = await store.setup(dir);
      const apps = [makeApp(config), makeApp(config)];
      const log = path.join(dir, 'ran.log');
      try {
        for (const app of apps) app.write('application/schedule.ts', SCHEDULE(log));
        if (store.database) {
          // The scheduler keeps its state in the jobs tables' records; schedule:table, as old scripts call it, does nothing.
          for (const args of [['job:table'], ['schedule:table'], ['migrate']]) {
            const r = await apps[0]!.rakit(args);
            expect(r.code, r.stderr).toBe(0);
          }
        }
        await roomInMinute(20);
        const runs = await Promise.all([0, 1, 0, 1].map((i, n) => apps[i]!.rakit(['schedule:run'], { APP: `app${i}-${n}` })));
        for (const r of runs) expect(r.code, r.stderr + r.stdout).toBe(0);
        const ran = lines(log);
        expect(ran.filter((l) => l.startsWith('once'))).toHaveLength(1);
        expect(ran.filter((l) => l.startsWith('each'))).toHaveLength(4);
        expect(runs.filter((r) => /once: skipped, another server runs this tick/.test(r.stdout))).toHaveLength(3);
        console.log(`${store.label}: 4 schedule:run of 2 apps at once — "once" ran ${ran.filter((l) => l.startsWith('once')).length}×, "each" ${ran.filter((l) => l.startsWith('each')).length}×`);
      } finally {
        for (const app of apps) app.remove();
        await drop();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 90_000);
  }
});

describe('run locks of a real process', () => {
  let app: TestApp;
  const SLOW = `import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Schedule } from 'rakit';

Schedule.call(async () => {
  appendFileSync('storage/ran.log', \`start \${process.pid}\\n\`);
  // FREEZE_MS: the process stops dead (no timer runs, so nobody renews its lock).
  if (process.env.FREEZE_MS) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.env.FREEZE_MS));
  await sleep(Number(process.env.SLOW_MS ?? 0)); // its work: time on purpose
  appendFileSync('storage/ran.log', \`done \${process.pid}\\n\`);
}).name('slow').everyMinute().withoutOverlapping(2);
`;
  beforeAll(() => {
    app = makeApp({ driver: 'file' });
    app.write('application/schedule.ts', SLOW);
  });
  afterAll(() => app?.remove());

  it('a run killed with kill -9 frees its lock within its TTL, and the next run goes ahead', async () => {
    await roomInMinute(25);
    const killed = app.spawnRakit(['schedule:run'], { SLOW_MS: '60000' });
    await until(() => app.ranLog().some((l) => l.startsWith('start')), 15_000);
    const held = await app.rakit(['schedule:run']);
    expect(held.stdout).toContain('slow: skipped');
    killed.kill('SIGKILL');
    await new Promise((r) => killed.on('close', r));
    await new Promise((r) => setTimeout(r, 2_500)); // the lock's TTL (2 s)
    const next = await app.rakit(['schedule:run']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toMatch(/slow: success/);
    expect(app.ranLog().filter((l) => l.startsWith('done'))).toHaveLength(1);
    const listed = JSON.parse((await app.rakit(['schedule:list', '--json'])).stdout) as { tasks: { name: string; lastRun: { outcome: string } }[] };
    expect(listed.tasks[0]).toMatchObject({ name: 'slow', lastRun: { outcome: 'success' } });
  }, 60_000);

  it('a run that froze past its TTL, finishing late, does not release the next run\'s lock', async () => {
    await roomInMinute(40);
    const starts = () => app.ranLog().filter((l) => l.startsWith('start')).length;
    const before = starts();
    const frozen = app.rakit(['schedule:run'], { FREEZE_MS: '8000' });
    await until(() => starts() === before + 1, 20_000); // it holds the lock, and froze
    await new Promise((r) => setTimeout(r, 2_500)); // its lock's TTL (2 s) lapses
    const next = app.rakit(['schedule:run'], { SLOW_MS: '15000' }); // takes the lock, holds it 15 s
    await until(() => starts() === before + 2, 20_000);
    const old = await frozen; // finished after the next run took the lock, and tried to release its (lost) lock
    expect(old.stdout).toMatch(/slow: success/);
    const third = await app.rakit(['schedule:run']);
    expect(third.stdout).toContain('slow: skipped'); // the next run's lock still held
    const after = await next;
    expect(after.stdout).toMatch(/slow: success/);
    const clear = await app.rakit(['schedule:clear-locks']);
    // On a failure, what each run said (a release that failed says so) and the lock's files.
    const said = [old, third, after].map((r) => `${r.stdout}${r.stderr}`).join('\n---\n');
    expect(clear.stdout, `${said}\n---\n${lockFiles(app)}`).toBe('No scheduler locks were held.\n');
  }, 90_000);
});

describe('schedule:work and command tasks', () => {
  it('runs each minute\'s tasks, writes a command\'s output, and on SIGTERM ends after the running task', async () => {
    const app = makeApp({ driver: 'file' });
    try {
      app.write('application/schedule.ts', `import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Schedule } from 'rakit';

Schedule.command('job:status --json').everyMinute().appendOutputTo('storage/status.log').name('status');
Schedule.call(async () => {
  appendFileSync('storage/ran.log', 'start\\n');
  await sleep(3000); // its work: time on purpose, the 3 s the run's record reports
  appendFileSync('storage/ran.log', 'done\\n');
}).everyMinute().name('slow');
`);
      const work = app.spawnRakit(['schedule:work']);
      let out = '';
      work.stdout!.on('data', (d) => (out += d));
      work.stderr!.on('data', (d) => (out += d));
      const exit = new Promise<number | null>((resolve) => work.on('close', resolve));
      await until(() => app.ranLog().includes('start'), 75_000, 100);
      work.kill('SIGTERM');
      expect(await exit, out).toBe(0);
      expect(app.ranLog()).toEqual(['start', 'done']);
      expect(out).toContain('Stopping: waiting for the running tasks to end.');
      expect(out).toMatch(/slow: success in 3\.\d\d s/);
      const status = readFileSync(path.join(app.dir, 'storage', 'status.log'), 'utf8');
      expect(JSON.parse(status)).toBeTruthy();
      const list = await app.rakit(['schedule:list']);
      expect(list.stdout).toMatch(/^status\s+\* \* \* \* \*\s+UTC\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+\d{4}-\d\d-\d\d \d\d:\d\d success, \d+\.\d\d s$/m);
      expect(list.stdout).toMatch(/^slow\s+.* success, 3\.\d\d s$/m);
    } finally {
      app.remove();
    }
  }, 120_000);
});

describe('mistakes and outages', () => {
  it('says what is wrong, with exit 2 for a mistake and 1 for a server that cannot be reached', async () => {
    const app = makeApp({ database: 'sqlite:storage/jobs.sqlite' });
    try {
      app.write('application/schedule.ts', `import { Schedule } from 'rakit';\nSchedule.call(() => undefined).name('rates').cron('61 * * * *');\n`);
      const bad = await app.rakit(['schedule:run']);
      expect([bad.code, bad.stderr]).toEqual([2, 'rakit: Bad cron expression "61 * * * *": CronPattern: Invalid value for minute: 61\n']);
      app.write('application/schedule.ts', `import { Schedule } from 'rakit';\nSchedule.call(() => undefined).name('rates').everyMinute();\n`);
      const missing = await app.rakit(['schedule:run']);
      expect(missing.code).toBe(2);
      // The scheduler keeps its state in the jobs tables' records: their advice is the one to follow.
      expect(missing.stderr).toBe('rakit: Table "rakit_jobs" is missing: run `rakit job:table && rakit migrate`\n');
      const unknown = await app.rakit(['schedule:test', 'rate']);
      expect([unknown.code, unknown.stderr]).toEqual([2, 'rakit: No scheduled task "rate" — did you mean "rates"?\n']);
      const redis = await app.rakit(['schedule:run'], { JOB_DRIVER: 'redis', REDIS_URL: 'redis://127.0.0.1:1' });
      expect(redis.code).toBe(1);
      expect(redis.stderr).toMatch(/^rakit: Cannot reach Redis at 127\.0\.0\.1:1: .* — start Redis or fix REDIS_URL/);
      expect(redis.stdout).toBe('');
    } finally {
      app.remove();
    }
  }, 60_000);
});

describe('schedule:list', () => {
  it('gives each task\'s next run in its own timezone, as one JSON document with --json', async () => {
    const app = makeApp({ driver: 'file', timezone: 'Europe/Berlin' });
    try {
      app.write('application/schedule.ts', `import { Schedule } from 'rakit';
Schedule.job('send-digest', {}).cron('30 8 * * 1-5').timezone('Asia/Jakarta');
Schedule.call(() => undefined).name('nightly').dailyAt('23:00');
`);
      const listed = await app.rakit(['schedule:list', '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      const { tasks } = JSON.parse(listed.stdout) as { tasks: { name: string; timezone: string; nextRun: string; nextRunLocal: string; lastRun: null }[] };
      expect(tasks.map((t) => [t.name, t.timezone, t.nextRunLocal.slice(11), t.lastRun])).toEqual([
        ['send-digest', 'Asia/Jakarta', '08:30:00', null],
        ['nightly', 'Europe/Berlin', '23:00:00', null],
      ]);
      expect(new Date(tasks[0]!.nextRun).getUTCHours()).toBe(1); // 08:30 in Jakarta (UTC+7)
      const table = await app.rakit(['schedule:list']);
      expect(table.stdout).toMatch(/^send-digest\s+30 8 \* \* 1-5\s+Asia\/Jakarta\s+\d{4}-\d\d-\d\d 08:30\s+never$/m);
      expect(table.stdout).toMatch(/^nightly\s+0 23 \* \* \*\s+Europe\/Berlin\s+\d{4}-\d\d-\d\d 23:00\s+never$/m);
    } finally {
      app.remove();
    }
  }, 60_000);
});

describe('schedule:table, kept for the scripts that call it', () => {
  for (const [kind, type, config] of [
    ['CommonJS', 'commonjs', 'job.cjs'],
    ['ES modules', 'module', 'job.js'],
  ] as const) {
    it(`writes nothing in a ${kind} app, and says the scheduler needs no table of its own`, async () => {
      const app = makeApp();
      try {
        rmSync(path.join(app.dir, 'application', 'config', 'job.ts'));
        const settings = JSON.stringify({ driver: 'database', database: 'sqlite:storage/jobs.sqlite' });
        app.write(`application/config/${config}`, type === 'module' ? `export default ${settings};\n` : `module.exports = ${settings};\n`);
        app.write('package.json', JSON.stringify({ name: 'js-app', private: true, type }));
        expect((await app.rakit(['job:table'])).code).toBe(0);
        const before = readdirSync(path.join(app.dir, 'migrations'));
        const table = await app.rakit(['schedule:table']);
        expect([table.code, table.stderr, table.stdout]).toEqual([0, '', 'The scheduler needs no table of its own: it keeps its claims, locks and runs in the table rakit_jobs_records that rakit job:table makes. Nothing to write.\n']);
        expect(readdirSync(path.join(app.dir, 'migrations'))).toEqual(before);
        const migrated = await app.rakit(['migrate']);
        expect(migrated.stderr).toBe('');
        expect((await app.rakit(['schedule:list'])).code).toBe(0);
      } finally {
        app.remove();
      }
    }, 60_000);
  }
});

describe('the schedule file', () => {
  for (const [file, source] of [
    ['application/schedule.cjs', "const { Schedule } = require('rakit');\nSchedule.command('job:flush --hours=168').weekly().name('flush');\n"],
    ['application/schedule.cts', "import { Schedule } from 'rakit';\nSchedule.command('job:flush --hours=168').weekly().name('flush');\n"],
  ] as const) {
    it(`may be ${path.extname(file)}, like the app's other files`, async () => {
      const app = makeApp({ driver: 'file', file_path: 'storage/jobs' });
      try {
        app.write(file, source);
        const list = await app.rakit(['schedule:list']);
        expect(list.stderr).toBe('');
        expect(list.stdout).toMatch(/^flush\s+0 0 \* \* 0\s/m);
      } finally {
        app.remove();
      }
    }, 60_000);
  }
});

describe('schedule:list right after rakit init', () => {
  it('works after migrate, and says how to make a schedule file when there is none', async () => {
    const app = makeApp();
    try {
      for (const folder of ['application', 'migrations']) rmSync(path.join(app.dir, folder), { recursive: true, force: true });
      app.write('tsconfig.json', '{}'); // a TypeScript app
      const init = await app.rakit(['init']);
      expect(init.stdout).toContain('created application/schedule.ts');
      expect(init.stdout).toMatch(/created migrations\/\d{14}_create_rakit_jobs_table\.ts/);
      expect(readdirSync(path.join(app.dir, 'migrations'))).toHaveLength(1); // the scheduler needs no table
      expect((await app.rakit(['migrate'])).code).toBe(0);
      const list = await app.rakit(['schedule:list']);
      expect([list.code, list.stderr, list.stdout]).toEqual([0, '', 'No scheduled tasks: declare them in application/schedule.ts.\n']);
      rmSync(path.join(app.dir, 'application', 'schedule.ts'));
      const none = await app.rakit(['schedule:list']);
      expect([none.code, none.stderr, none.stdout]).toEqual([0, '', 'No schedule file: create application/schedule.ts and declare the tasks in it (npx rakit init writes one with an example).\n']);
      // The example, uncommented, is a task.
      app.write('application/schedule.ts', readFileSync(path.join(REPO, 'templates', 'init', 'ts', 'application', 'schedule.ts'), 'utf8').replace('// Schedule.', 'Schedule.'));
      expect((await app.rakit(['schedule:list'])).stdout).toMatch(/^job:flush --hours=168\s+0 0 \* \* 0\s/m);
    } finally {
      app.remove();
    }
  }, 60_000);
});

describe('the hint for an app without scheduled tasks', () => {
  it('names the schedule file the app has, or the one rakit init writes in its language', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'rakit-hint-'));
    try {
      const write = (file: string, text: string) => writeFileSync(path.join(root, file), text);
      write('package.json', '{}');
      expect(noTasksHint(root)).toContain('create application/schedule.cjs'); // CommonJS, as Node reads it
      write('package.json', '{"type":"module"}');
      expect(noTasksHint(root)).toContain('create application/schedule.js');
      expect(noTasksHint(root, path.join(root, 'application/config/job.ts'))).toContain('create application/schedule.ts');
      mkdirSync(path.join(root, 'application'));
      write('application/schedule.cjs', '');
      expect(noTasksHint(root)).toBe('No scheduled tasks: declare them in application/schedule.cjs.');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/** Each record file of the scheduler's locks in the file driver, with its content. */
function lockFiles(app: TestApp): string {
  const root = path.join(app.dir, 'storage', 'jobs', 'records', 'schedule-lock');
  if (!existsSync(root)) return '(no locks folder)';
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(root, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => `${path.relative(root, f)}: ${readFileSync(f, 'utf8')}`)
    .join('\n');
}
