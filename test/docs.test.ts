/**
 * Every code sample in README.md and docs/ runs, in order, in a fresh app made of this
 * repository's `application/` and `migrations/` (one app per document):
 * - ```ts whose first line is `// <path>`: written to that file of the app;
 * - other ```ts: run as a script of the app (tsx), which must exit 0; the connections are closed
 *   after it, as a script that dispatches must do;
 * - ```js (`// dispatch.mjs`, `// dispatch.cjs`): run by test/package/installed.test.ts, in the
 *   JavaScript apps that installed the packed tarball;
 * - ```js of docs/testing-your-jobs.md (`// src/…`, `// test/…`): run by
 *   test/package/fake-runners.test.ts under vitest, jest and node:test, in an app that installed it;
 * - ```sh: each command line runs in the app with `npx` finding the rakit binary; it must exit 0.
 *   `npm install rakit` is left to test/package/installed.test.ts, which installs the tarball.
 *   A worker that runs until stopped (`job:runall` without a stop flag) must still be running
 *   2 s after it said it started and stop cleanly on SIGTERM. `sudo` runs the command as is, and `supervisorctl` talks to
 *   a private supervisord; /etc/supervisor/conf.d, /var/log/rakit and /var/www/myapp stand for
 *   its folders and the app;
 * - ```cron: the command of the crontab line, run the same way;
 * - ```ini: part of supervisor/rakit-worker.conf, word for word (which test/ops/supervisor.test.ts
 *   checks against `rakit job:supervisor` and runs under supervisord);
 * - ```text: output and file listings, not code.
 * The README's first two commands are the exception: the first runs in a copy of this
 * repository; the second (`npm run test:all`) is what .ci/run runs.
 * A page of docs/ starts from a migrated app, as its reader has done the README's quick start.
 * Every relative link of README.md and docs/ leads to a file, and its #anchor to a heading there.
 */
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from './helpers/app.ts';
import { startSupervisor, type TestSupervisor } from './helpers/supervisor.ts';

interface Block {
  lang: string;
  code: string;
  line: number;
}

function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const re = /^```(\S*)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
    out.push({ lang: m[1]!, code: m[2]!, line: markdown.slice(0, m.index).split('\n').length });
  }
  return out;
}

const DOCS = ['README.md', ...readdirSync(path.join(REPO, 'docs'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.md')).sort().map((f) => path.join('docs', f))];
const LANGS = new Set(['ts', 'js', 'sh', 'cron', 'ini', 'text']);
const QUICKSTART = 'npm install && npx rakit migrate && npm run demo && npx rakit job:runall --queue=high,default,low --stop-when-empty';
const TEST_COMMAND = 'npm install && npm run test:all';
/** Named by the docs, not in this tree yet: the checks below name each one instead of failing. Empty it once they exist. */
const PENDING = new Set<string>([]);
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');

interface DocApp {
  dir: string;
  env: NodeJS.ProcessEnv;
  scratch: string;
  supervisor: TestSupervisor | null;
}

function makeDocApp(): DocApp {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'rakit-docs-'));
  const dir = path.join(scratch, 'app');
  // The example jobs use knex themselves, as an app would have installed it: found one folder up.
  symlinkSync(path.join(REPO, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
  mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(REPO, path.join(dir, 'node_modules', 'rakit'), 'dir');
  symlinkSync('../rakit/bin/rakit.js', path.join(dir, 'node_modules', '.bin', 'rakit'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'docs-app', private: true, type: 'module' }));
  for (const part of ['application', 'migrations']) cpSync(path.join(REPO, part), path.join(dir, part), { recursive: true });
  mkdirSync(path.join(dir, 'storage'));
  // sudo runs the command as is; supervisorctl talks to the private supervisord.
  const shims = path.join(scratch, 'bin');
  mkdirSync(shims);
  writeFileSync(path.join(shims, 'sudo'), '#!/bin/sh\nexec "$@"\n');
  writeFileSync(path.join(shims, 'supervisorctl'), `#!/bin/sh\nexec /usr/bin/supervisorctl -c ${scratch}/supervisor/supervisord.conf "$@"\n`);
  for (const shim of ['sudo', 'supervisorctl']) chmodSync(path.join(shims, shim), 0o755);
  const env = {
    ...process.env, PATH: `${shims}:${process.env.PATH}`,
    RAKIT_LOG_LEVEL: undefined, JOB_DRIVER: undefined, DATABASE_URL: undefined, REDIS_URL: undefined, MEMCACHED_SERVERS: undefined,
  };
  return { dir, env, scratch, supervisor: null };
}

/** Production paths in the docs → this app's private folders. */
function localise(app: DocApp, command: string): string {
  return command
    .replaceAll('/etc/supervisor/conf.d', path.join(app.scratch, 'supervisor', 'conf.d'))
    .replaceAll('/var/log/rakit', path.join(app.scratch, 'logs'))
    .replaceAll('/var/www/myapp', app.dir);
}

function exec(command: string, args: string[], app: DocApp, options: { untilStopped?: boolean } = {}) {
  return new Promise<{ code: number | null; output: string; stillRunning: boolean }>((resolve) => {
    const child = spawn(command, args, { cwd: app.dir, env: app.env, detached: true });
    let output = '';
    let stillRunning = false;
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    // A worker that runs until stopped gets its SIGTERM 2 s after it said it started (on a busy
    // machine npx and the start alone can take several seconds), and must still be running then.
    let timer: NodeJS.Timeout | undefined;
    const stopWhenStarted = (): void => {
      if (timer) return;
      timer = setTimeout(() => {
        stillRunning = true;
        process.kill(-child.pid!, 'SIGTERM');
      }, 2000);
    };
    const limit = options.untilStopped ? setTimeout(stopWhenStarted, 60_000) : setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 120_000);
    const seen = () => {
      if (options.untilStopped && /Worker started/.test(output)) stopWhenStarted();
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(limit);
      resolve({ code, output, stillRunning });
    });
  });
}

/** Lines of a sh block: comments dropped, `\` continuations joined. */
function commands(code: string): string[] {
  return code.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

async function runCommand(app: DocApp, raw: string): Promise<void> {
  if (/^npm install rakit\b/.test(raw)) return; // this app has rakit already: the package's own tests install the tarball
  const command = localise(app, raw);
  if (/supervisorctl/.test(command) && !app.supervisor) app.supervisor = await startSupervisor(path.join(app.scratch, 'supervisor'));
  const untilStopped = /\bjob:runall\b/.test(command) && !/--(stop-when-empty|once|max-jobs|max-time)\b/.test(command);
  const result = await exec('bash', ['-c', command], app, { untilStopped });
  if (untilStopped) {
    // npx itself dies of the SIGTERM; the worker under it must have stopped cleanly.
    expect(result.stillRunning, `${raw} should run until stopped\n${result.output}`).toBe(true);
    expect(result.output, raw).toMatch(/Worker stopped \(signal\)/);
  } else expect(result.code, `${raw}\n${result.output}`).toBe(0);
}

async function runBlock(app: DocApp, block: Block, doc: string): Promise<void> {
  const where = `${doc}:${block.line}`;
  if (block.lang === 'ts') {
    const target = /^\/\/ ((?:application|migrations|scripts)\/\S+\.ts)\n/.exec(block.code)?.[1];
    if (target) {
      mkdirSync(path.dirname(path.join(app.dir, target)), { recursive: true });
      writeFileSync(path.join(app.dir, target), block.code);
      return;
    }
    const file = `doc-sample-${block.line}.ts`;
    writeFileSync(path.join(app.dir, file), `${block.code}\nawait (await import('rakit')).Job.close();\n`);
    const result = await exec(TSX, [file], app);
    expect(result.code, `${where}\n${result.output}`).toBe(0);
  } else if (block.lang === 'sh') {
    for (const command of commands(block.code)) await runCommand(app, command);
  } else if (block.lang === 'cron') {
    for (const line of commands(block.code)) await runCommand(app, line.split(/\s+/).slice(5).join(' '));
  } else if (block.lang === 'ini') {
    expect(readFileSync(path.join(REPO, 'supervisor', 'rakit-worker.conf'), 'utf8'), where).toContain(block.code);
  }
}

const apps: DocApp[] = [];
afterAll(async () => {
  for (const app of apps) {
    await app.supervisor?.shutdown();
    rmSync(app.scratch, { recursive: true, force: true });
  }
}, 120_000);

const SAMPLES = new Map(DOCS.map((doc) => [doc, blocks(readFileSync(path.join(REPO, doc), 'utf8'))]));

describe('the code samples of README.md and docs/', () => {
  for (const [doc, all] of SAMPLES) {
    it(`in ${doc} are each of a kind this test runs (ts, sh, cron, ini), test/package runs (js) or output (text)`, () => {
      if (doc === 'README.md') expect(all.length).toBeGreaterThan(5);
      for (const block of all) expect(LANGS.has(block.lang), `${doc}:${block.line} is fenced as "${block.lang}"`).toBe(true);
    });
  }
});

// Each document has an app of its own, so the documents run side by side (most of their time is
// spent waiting on workers and the binary's start).
describe.concurrent('the code samples run, in order, in a fresh app', () => {
  for (const [doc, all] of SAMPLES) {
    if (!all.some((block) => block.lang !== 'text')) continue;
    it(`of ${doc}`, async () => {
      const app = makeDocApp();
      apps.push(app);
      if (doc !== 'README.md') await runCommand(app, 'npx rakit migrate');
      for (const block of all) {
        const text = block.code.trim();
        if (doc === 'README.md' && text === TEST_COMMAND) {
          const ci = readFileSync(path.join(REPO, '.ci', 'run'), 'utf8');
          if (ci.includes('npm run test:all')) expect(JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).scripts['test:all']).toBeDefined();
          else expect(PENDING.has('npm run test:all'), '.ci/run should run npm run test:all').toBe(true);
          continue;
        }
        if (doc === 'README.md' && text === QUICKSTART) {
          await quickstart(app);
          continue;
        }
        await runBlock(app, block, doc);
      }
    }, 900_000);
  }
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, each space a dash. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/`/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const prose = markdown.replace(/^```[\s\S]*?^```$/gm, '');
  return new Set([...prose.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
}

/** The relative links of a document (outside code), with the line each is on. */
function linksOf(markdown: string): { target: string; line: number }[] {
  const prose = markdown.replace(/^```[\s\S]*?^```$/gm, (block) => block.replace(/[^\n]/g, ' ')).replace(/`[^`\n]*`/g, (code) => ' '.repeat(code.length));
  const out: { target: string; line: number }[] = [];
  for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(m[1]!)) continue;
    out.push({ target: m[1]!, line: prose.slice(0, m.index).split('\n').length });
  }
  return out;
}

describe('the links of README.md and docs/', () => {
  for (const doc of DOCS) {
    it(`in ${doc} lead to a file, and to a heading there`, () => {
      const text = readFileSync(path.join(REPO, doc), 'utf8');
      const broken: string[] = [];
      for (const { target, line } of linksOf(text)) {
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const resolved = file ? path.relative(REPO, path.resolve(path.dirname(path.join(REPO, doc)), file)) : doc;
        if (!existsSync(path.join(REPO, resolved))) {
          if (PENDING.has(resolved)) console.warn(`${doc}:${line} links to ${resolved}, not in this tree yet`);
          else broken.push(`${doc}:${line} → ${target} (no file ${resolved})`);
          continue;
        }
        if (anchor && resolved.endsWith('.md') && !anchorsOf(readFileSync(path.join(REPO, resolved), 'utf8')).has(anchor)) {
          broken.push(`${doc}:${line} → ${target} (no heading #${anchor} in ${resolved})`);
        }
      }
      expect(broken).toEqual([]);
    });
  }
});

/** The first command of the README, in a copy of this repository (its node_modules linked by hard links). */
async function quickstart(app: DocApp): Promise<void> {
  const copy = path.join(app.scratch, 'repo');
  mkdirSync(copy);
  const tracked = await exec('git', ['-C', REPO, 'ls-files', '-z'], app);
  for (const file of tracked.output.split('\0').filter(Boolean)) {
    if (!existsSync(path.join(REPO, file))) continue;
    mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
    cpSync(path.join(REPO, file), path.join(copy, file));
  }
  const linked = await exec('cp', ['-al', path.join(REPO, 'node_modules'), path.join(copy, 'node_modules')], app);
  expect(linked.code, linked.output).toBe(0);
  const result = await exec('bash', ['-c', `cd ${copy} && ${QUICKSTART}`], app);
  expect(result.code, result.output).toBe(0);
  // Every example the demo dispatches runs, the legacy listener's job included (application/events.ts
  // must reach the binary's own Event registry) and the three chunk jobs of GenerateMonthlyInvoices'
  // batch; the cleanup is scheduled for 23:00.
  expect(result.output).toMatch(/Batch added: invoices-202611 \(3 jobs\)/);
  expect(result.output).toMatch(/Worker stopped \(empty\): 9 done, 0 retried, 0 failed/);
}
