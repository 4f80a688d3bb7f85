/**
 * Our drivers as benchmark subjects, through the real paths: jobs dispatched by a script of a
 * throwaway app (tsx), and worked off by `rakit job:runall` (the manager and one worker
 * process). Processing is timed inside the worker, as the peers are timed from an already
 * loaded program: a Mark job dispatched first and one dispatched last write the time they ran.
 * A worker's start on an empty queue is measured on its own (`emptyRunMs`).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeApp, type TestApp } from '../test/helpers/app.ts';
import { STORES } from '../test/helpers/stores.ts';
import type { Subject } from './subject.ts';

const NOOP = `import { Jobable } from 'rakit';\nexport default class Noop extends Jobable { static tries = 1; run() {} }\n`;
const LAT = `import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Jobable } from 'rakit';
export default class Lat extends Jobable<{ t: number }> {
  static tries = 1;
  run() { appendFileSync('storage/lat.log', \`\${performance.timeOrigin + performance.now() - this.get('t')}\\n\`); }
}
`;
const MARK = `import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Jobable } from 'rakit';
export default class Mark extends Jobable {
  static tries = 1;
  run() { appendFileSync('storage/marks.log', \`\${performance.timeOrigin + performance.now()}\\n\`); }
}
`;
const QUIET = { RAKIT_LOG_LEVEL: 'warn' };

/** A fresh app on `store`; `config`: settings beside the bench's own (e.g. `metrics: false`). */
export async function benchApp(store: string, config: Record<string, unknown> = {}): Promise<{ app: TestApp; drop(): Promise<void> }> {
  const target = STORES.find((s) => s.label === store);
  if (!target) throw new Error(`no store ${store}`);
  const made = await target.setup(mkdtempSync(path.join(os.tmpdir(), 'rakit-bench-')));
  const app = makeApp({ ...made.config, max_job: 0, logging: false, ...config }, QUIET);
  app.write('application/jobs/Noop.ts', NOOP);
  app.write('application/jobs/Lat.ts', LAT);
  app.write('application/jobs/Mark.ts', MARK);
  if (target.database) {
    await app.rakit(['job:table']);
    const migrated = await app.rakit(['migrate']);
    if (migrated.code !== 0) throw new Error(migrated.stderr);
  }
  return { app, drop: async () => { app.remove(); await made.drop(); } };
}

/**
 * Dispatches n no-op jobs from a script, 100 in flight; returns the ms the script measured.
 * `marked`: the first and the last of them are Mark jobs (see `markedMs`).
 */
export async function fill(app: TestApp, n: number, marked = false): Promise<number> {
  const r = await app.script('fill.ts', `
import { performance } from 'node:perf_hooks';
import { Job } from 'rakit';
import Noop from './application/jobs/Noop.ts';
import Mark from './application/jobs/Mark.ts';
const First = ${marked} ? Mark : Noop;
await First.dispatch({}); // connect first, as a running app already is
const start = performance.now();
let next = 1;
const last = ${n} - (${marked} ? 1 : 0);
await Promise.all(Array.from({ length: 100 }, async () => { while (next < last) { next++; await Noop.dispatch({}); } }));
if (${marked}) await Mark.dispatch({});
console.log(JSON.stringify({ ms: performance.now() - start }));
await Job.close();
`);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!).ms;
}

/** Dispatches n no-op jobs with one `dispatchMany` from a script (connected first); the ms the script measured. */
export async function bulkFill(app: TestApp, n: number): Promise<number> {
  const r = await app.script('bulk.ts', `
import { performance } from 'node:perf_hooks';
import { Job } from 'rakit';
import Noop from './application/jobs/Noop.ts';
await Noop.dispatch({}); // connect first, as a running app already is
const payloads = Array.from({ length: ${n} }, () => ({}));
const start = performance.now();
const results = await Noop.dispatchMany(payloads);
const ms = performance.now() - start;
if (results.length !== ${n} || results.some((r) => !r.id)) throw new Error('not every job was stored');
console.log(JSON.stringify({ ms }));
await Job.close();
`);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!).ms;
}

/** ms from the first Mark job's run to the last one's (the worker's own processing time); clears the marks. */
export function markedMs(app: TestApp): number {
  const file = path.join(app.dir, 'storage', 'marks.log');
  const marks = readFileSync(file, 'utf8').trim().split('\n').map(Number);
  rmSync(file);
  if (marks.length !== 2) throw new Error(`expected 2 marks, got ${marks.length}`);
  return marks[1]! - marks[0]!;
}

/** Wall ms of one `rakit job:runall --stop-when-empty` run. */
export async function timedRun(app: TestApp, args: string[]): Promise<number> {
  const start = performance.now();
  const r = await app.rakit(['job:runall', '--stop-when-empty', ...args], QUIET);
  if (r.code !== 0) throw new Error(r.stderr);
  return performance.now() - start;
}

/** Dispatches n marked jobs and works them off with one `job:runall --stop-when-empty` run; the worker's ms (markedMs). */
export async function workOff(app: TestApp, n: number, args: string[]): Promise<number> {
  await fill(app, n, true);
  await timedRun(app, args);
  return markedMs(app);
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median wall ms of `runs` runs on an empty queue: a worker's cold start, taken out of processing times. */
export async function emptyRunMs(app: TestApp, args: string[], runs = 3): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timedRun(app, args));
  return median(times);
}

function subject(store: string): Subject {
  return {
    async dispatch(n) {
      const { app, drop } = await benchApp(store);
      try {
        return await fill(app, n);
      } finally {
        await drop();
      }
    },
    async bulk(n) {
      const { app, drop } = await benchApp(store);
      try {
        return await bulkFill(app, n);
      } finally {
        await drop();
      }
    },
    async process(n, concurrency) {
      const { app, drop } = await benchApp(store);
      try {
        return await workOff(app, n, [`--concurrency=${concurrency}`]);
      } finally {
        await drop();
      }
    },
    async latency(samples) {
      const { app, drop } = await benchApp(store);
      const worker = app.spawnRakit(['job:runall', '--concurrency=1'], { RAKIT_LOG_LEVEL: 'info' });
      try {
        await new Promise<void>((resolve, reject) => {
          worker.stderr!.on('data', (d: Buffer) => { if (d.toString().includes('Worker started')) resolve(); });
          worker.on('exit', () => reject(new Error('worker exited')));
        });
        await new Promise((r) => setTimeout(r, 500));
        const r = await app.script('send.ts', `
import { performance } from 'node:perf_hooks';
import { Job } from 'rakit';
import Lat from './application/jobs/Lat.ts';
await Lat.dispatch({ t: 0 });
for (let i = 0; i < ${samples}; i++) {
  await Lat.dispatch({ t: performance.timeOrigin + performance.now() });
  await new Promise((r) => setTimeout(r, 10));
}
await Job.close();
`);
        if (r.code !== 0) throw new Error(r.stderr);
        const file = path.join(app.dir, 'storage', 'lat.log');
        const deadline = Date.now() + 30_000;
        let lines: number[] = [];
        while (Date.now() < deadline) {
          try {
            lines = readFileSync(file, 'utf8').trim().split('\n').map(Number);
          } catch {
            lines = [];
          }
          if (lines.length >= samples + 1) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        return lines.slice(1); // the first job connected the dispatcher
      } finally {
        worker.kill('SIGTERM');
        await new Promise((r) => worker.on('close', r));
        await drop();
      }
    },
  };
}

export const OUR_STORES = ['redis', 'sqlite', 'mysql', 'pg', 'file', 'memcached'] as const;
export const OURS: Record<string, Subject> = Object.fromEntries(OUR_STORES.map((s) => [`rakit-${s}`, subject(s)]));
