/**
 * What users feel: whole processes started from a shell, startup included, the way a person or
 * supervisor runs them. `rakit job:runall --stop-when-empty --concurrency=50` works off N no-op
 * jobs that are already queued, timed from the shell's spawn to the process's exit:
 * - `shipped`: the configuration a new app gets (max_job 100, logging on, its log sent to a file);
 * - `engine`: the same run with recycling and logging off (max_job 0, logging false);
 * and BullMQ from a shell on the same Redis: `node worker.mjs`, a Worker at concurrency 50 that
 * closes when its queue is drained, as its docs show.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { REPO, makeApp, type TestApp } from '../test/helpers/app.ts';
import { STORES } from '../test/helpers/stores.ts';
import { fill, median } from './ours.ts';

const NOOP = `import { Jobable } from 'rakit';\nexport default class Noop extends Jobable { static tries = 1; run() {} }\n`;
const MARK = `import { Jobable } from 'rakit';\nexport default class Mark extends Jobable { static tries = 1; run() {} }\n`;

export type ShellConfig = 'shipped' | 'engine';

/** The settings of each variant; `shipped` leaves every tuning key at its default. */
const CONFIGS: Record<ShellConfig, Record<string, unknown>> = {
  shipped: { sleep_ms: 1000, max_job: 100, logging: true },
  engine: { sleep_ms: 1000, max_job: 0, logging: false },
};

/** Runs `command` through /bin/sh in `cwd`, output to `log`; resolves with the wall ms from spawn to exit. */
function timedShell(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd, env, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - start) : reject(new Error(`${command}: exit ${String(code)}`))));
  });
}

async function shellApp(store: string, variant: ShellConfig): Promise<{ app: TestApp; drop(): Promise<void> }> {
  const target = STORES.find((s) => s.label === store);
  if (!target) throw new Error(`no store ${store}`);
  const made = await target.setup(mkdtempSync(path.join(os.tmpdir(), 'rakit-shell-')));
  const app = makeApp({ ...made.config, ...CONFIGS[variant] });
  app.write('application/jobs/Noop.ts', NOOP);
  app.write('application/jobs/Mark.ts', MARK);
  if (target.database) {
    await app.rakit(['job:table']);
    const migrated = await app.rakit(['migrate']);
    if (migrated.code !== 0) throw new Error(migrated.stderr);
  }
  return { app, drop: async () => { app.remove(); await made.drop(); } };
}

/** Wall ms of one `job:runall --stop-when-empty --concurrency=50` over n queued jobs, from a shell. */
export async function rakitFromShell(store: string, variant: ShellConfig, n: number): Promise<number> {
  const { app, drop } = await shellApp(store, variant);
  try {
    await fill(app, n);
    const env = { ...app.env, RAKIT_LOG_LEVEL: undefined };
    const ms = await timedShell('node_modules/.bin/rakit job:runall --stop-when-empty --concurrency=50 >storage/worker.log 2>&1', app.dir, env);
    const status = await app.rakit(['job:status', '--json'], { RAKIT_LOG_LEVEL: 'warn' });
    const queues = (JSON.parse(status.stdout.trim().split('\n').at(-1)!) as { queues: { ready: number; reserved: number; failed: number }[] }).queues;
    const left = queues.reduce((t, q) => t + q.ready + q.reserved + q.failed, 0);
    if (left !== 0) throw new Error(`${store} ${variant}: ${left} jobs left after the run`);
    return ms;
  } finally {
    await drop();
  }
}

const BULLMQ_WORKER = `import { Worker } from 'bullmq';
const worker = new Worker('bench-shell', async () => undefined, { connection: { host: '127.0.0.1', port: 6379 }, concurrency: 50 });
worker.on('drained', async () => { await worker.close(); process.exit(0); });
`;

/** Wall ms of `node worker.mjs` working off n queued BullMQ jobs, from a shell. */
export async function bullmqFromShell(n: number): Promise<number> {
  const dir = mkdtempSync(path.join(REPO, 'bench', '.shell-'));
  const queue = new Queue('bench-shell', { connection: { host: '127.0.0.1', port: 6379 } });
  try {
    await queue.obliterate({ force: true });
    for (let i = 0; i < n; i += 1000) {
      await queue.addBulk(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: 'noop', data: {}, opts: { removeOnComplete: true } })));
    }
    writeFileSync(path.join(dir, 'worker.mjs'), BULLMQ_WORKER);
    const ms = await timedShell('node worker.mjs >worker.log 2>&1', dir, process.env);
    const left = await queue.count();
    if (left !== 0) throw new Error(`bullmq: ${left} jobs left after the run`);
    return ms;
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ShellRow { subject: string; ms: number; jobsPerSecond: number }

/**
 * Each subject `rounds` times, one after another per round (the order alternates), as rows of
 * medians; and per store the median over the rounds of shipped / engine time.
 */
export async function shellRuns(stores: readonly string[], n: number, rounds: number, withBullmq: boolean): Promise<{ rows: ShellRow[]; ratios: Record<string, number> }> {
  const runs: Record<string, number[]> = {};
  const ratios: Record<string, number[]> = {};
  for (let round = 1; round <= rounds; round++) {
    for (const store of stores) {
      const order: ShellConfig[] = round % 2 === 1 ? ['shipped', 'engine'] : ['engine', 'shipped'];
      const times: Partial<Record<ShellConfig, number>> = {};
      for (const variant of order) {
        process.stderr.write(`round ${round}/${rounds}, shell: rakit-${store} (${variant})…\n`);
        times[variant] = await rakitFromShell(store, variant, n);
        (runs[`rakit-${store} (${variant})`] ??= []).push(times[variant]);
      }
      (ratios[store] ??= []).push(times.shipped! / times.engine!);
    }
    if (withBullmq) {
      process.stderr.write(`round ${round}/${rounds}, shell: bullmq…\n`);
      (runs['bullmq (node worker.mjs)'] ??= []).push(await bullmqFromShell(n));
    }
  }
  const rows = Object.entries(runs).map(([subject, times]) => ({ subject, ms: median(times), jobsPerSecond: (n / median(times)) * 1000 }));
  return { rows, ratios: Object.fromEntries(Object.entries(ratios).map(([store, r]) => [store, median(r)])) };
}
