/**
 * One chaos run: N jobs that record their start and end, a manager with several worker
 * processes, kill -9 of random worker processes while they work, a restart of the server in
 * the middle (MariaDB, Redis), optionally SIGTERM to the manager mid-run; then the count of what
 * was lost, what ran twice, and what was in flight in a killed process.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { makeApp } from '../helpers/app.ts';
import { until } from '../helpers/clock.ts';
import { scratchDatabase, uniqueName } from '../helpers/servers.ts';
import { privateMariadb, privateRedis, type PrivateServer } from './servers.ts';

export type ChaosStore = 'sqlite' | 'mysql' | 'pg' | 'redis' | 'file';

export interface ChaosOptions {
  store: ChaosStore;
  jobs: number;
  processes: number;
  concurrency: number;
  /** kill -9 of random worker processes during the run. */
  kills: number;
  /** Restart the server after the kills, under load (mysql, redis). */
  restart: boolean;
  /** SIGTERM the manager after the kills, then finish with a fresh `--stop-when-empty` run. */
  sigterm: boolean;
  /** Each job works 20 ms + up to this many ms: long enough that the work outlasts the chaos. */
  workMs: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  store: ChaosStore;
  jobs: number;
  kills: number;
  /** Jobs that never completed (and are not in the failed store). */
  lost: number;
  /** Jobs in the failed store (deadlocks or anything else). */
  failed: number;
  /** Jobs started in a process that was killed before they ended. */
  inFlightAtKill: number;
  /** Jobs started more than once. */
  startedTwice: number;
  /** Jobs that completed more than once. */
  completedTwice: number;
  /** Jobs that ran again although an earlier run was in a process nobody killed: must be 0. */
  duplicatesOutsideKilled: number;
  /** ms from the server's return to the first job started after it. */
  backAfterRestartMs: number | null;
  /** Worker processes that started a job within 5 s of the server's return. */
  workersBackWithin5s: number | null;
  /** Exit code of the manager on SIGTERM. */
  sigtermExit: number | null;
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => undefined);
  const began = Date.now();
  let server: PrivateServer | null = null;
  let dropDb = async () => {};
  let config: Record<string, unknown>;
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  switch (o.store) {
    case 'sqlite':
      config = { database: 'sqlite:storage/jobs.sqlite' };
      break;
    case 'file':
      config = { driver: 'file' };
      break;
    case 'pg': {
      const scratch = await scratchDatabase('pg');
      dropDb = scratch.drop;
      config = { database: scratch.url };
      break;
    }
    case 'mysql':
      server = await privateMariadb(port);
      config = { database: server.url };
      break;
    case 'redis':
      server = await privateRedis(port);
      config = { driver: 'redis', redis: server.url, prefix: uniqueName('chaos') };
      break;
  }
  const app = makeApp({ ...config, sleep_ms: 50, max_job: 0 });
  try {
    await app.rakit(['job:table']);
    const migrated = await app.rakit(['migrate']);
    if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
    const fill = await app.script('fill.ts', `
      import { Job } from 'rakit';
      import Chaos from './application/jobs/Chaos.ts';
      for (let i = 0; i < ${o.jobs}; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, ${o.jobs} - i) }, (_, k) => Chaos.dispatch({ n: i + k, ms: 20 + Math.floor(Math.random() * ${o.workMs}) })));
      }
      await Job.close();
    `);
    if (fill.code !== 0) throw new Error(`dispatch failed: ${fill.stderr}`);
    log(`${o.store}: ${o.jobs} jobs dispatched`);

    const flags = [`--processes=${o.processes}`, `--concurrency=${o.concurrency}`, '--sleep=100'];
    const manager = app.spawnRakit(['job:runall', ...flags], { RAKIT_LOG_LEVEL: 'error' });
    const managerExit = new Promise<number | null>((resolve) => manager.on('close', resolve));
    const killed = new Set<string>();
    let backAt: number | null = null;
    await until(() => readLog(app.dir).some((l) => l.kind === 'start'), { timeoutMs: 60_000, everyMs: 50, what: 'the worker processes to start jobs' });
    for (let k = 0; k < o.kills; k++) {
      await sleep(200 + Math.random() * 400); // kills at random moments: the chaos itself
      const children = childrenOf(manager.pid!);
      if (children.length === 0) continue; // all killed, replacements on their way
      const victim = children[Math.floor(Math.random() * children.length)]!;
      try {
        process.kill(Number(victim), 'SIGKILL');
        killed.add(victim);
      } catch {
        // already gone
      }
    }
    log(`${o.store}: ${killed.size} worker processes killed`);
    if (o.restart && server) {
      // Restart under load, with no kill around it (every killed process replaced, each replacement at work), and watch the workers come back.
      await until(() => {
        const children = childrenOf(manager.pid!);
        const working = new Set(readLog(app.dir).filter((l) => l.kind === 'start').map((l) => l.pid));
        return children.length === o.processes && children.every((pid) => !killed.has(pid) && working.has(pid));
      }, { timeoutMs: 30_000, everyMs: 50, what: `${o.processes} worker processes, none of them killed, to be at work` });
      log(`${o.store}: restarting the server`);
      await server.restart();
      backAt = Date.now();
      await sleep(5000); // the 5 s after the server's return that the report counts the workers back in: wall time
    }

    let sigtermExit: number | null = null;
    if (o.sigterm) {
      manager.kill('SIGTERM');
      sigtermExit = await managerExit;
      log(`${o.store}: manager exited ${sigtermExit} on SIGTERM`);
      const drain = await app.rakit(['job:runall', '--stop-when-empty', ...flags], { RAKIT_LOG_LEVEL: 'error' });
      if (drain.code !== 0) throw new Error(`drain run exited ${drain.code}: ${drain.stderr}`);
    } else {
      const end = Date.now() + 120_000;
      while (doneSet(app.dir).size < o.jobs && Date.now() < end) await sleep(200);
      manager.kill('SIGTERM');
      await managerExit;
    }

    // A job whose bookkeeping could not be done is still stored, under a lease: wait the lease out and drain again.
    for (let round = 0; round < 3; round++) {
      const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout) as { queues: { ready: number; scheduled: number; reserved: number }[] };
      const stored = status.queues.reduce((n, q) => n + q.ready + q.scheduled + q.reserved, 0);
      if (stored === 0) break;
      log(`${o.store}: ${stored} jobs still stored after the drain; waiting for their leases`);
      await sleep(21_000);
      await app.rakit(['job:runall', '--stop-when-empty', ...flags], { RAKIT_LOG_LEVEL: 'error' });
    }

    const lines = readLog(app.dir);
    const byJob = new Map<number, { starts: string[]; dones: string[] }>();
    for (const { kind, n, pid } of lines) {
      const entry = byJob.get(n) ?? { starts: [], dones: [] };
      (kind === 'start' ? entry.starts : entry.dones).push(pid);
      byJob.set(n, entry);
    }
    const failed = (JSON.parse((await app.rakit(['job:failed', '--json'])).stdout) as unknown[]).length;
    // In flight at a kill: started in a process that was killed before the job's outcome was
    // recorded (no end in it, or the job ran again after it: its ack never landed).
    const inFlight = new Set<number>();
    for (const [n, e] of byJob) {
      if (e.starts.slice(0, -1).some((pid) => killed.has(pid)) || e.starts.some((pid) => killed.has(pid) && !e.dones.includes(pid))) inFlight.add(n);
    }
    const startedTwice = [...byJob].filter(([, e]) => e.starts.length > 1).map(([n]) => n);
    // A second run is explained only if every earlier run was in a process that was killed.
    const unexplained = startedTwice.filter((n) => byJob.get(n)!.starts.slice(0, -1).some((pid) => !killed.has(pid)));
    let workersBack: number | null = null;
    let backAfter: number | null = null;
    if (backAt !== null) {
      const after = lines.filter((l) => l.kind === 'start' && l.at >= backAt!);
      backAfter = after.length ? Math.min(...after.map((l) => l.at)) - backAt : null;
      workersBack = new Set(after.filter((l) => l.at < backAt! + 5000).map((l) => l.pid)).size;
    }
    const report: ChaosReport = {
      store: o.store,
      jobs: o.jobs,
      kills: killed.size,
      lost: o.jobs - [...byJob.values()].filter((e) => e.dones.length > 0).length - failed,
      failed,
      inFlightAtKill: inFlight.size,
      startedTwice: startedTwice.length,
      completedTwice: [...byJob.values()].filter((e) => e.dones.length > 1).length,
      duplicatesOutsideKilled: unexplained.length,
      backAfterRestartMs: backAfter,
      workersBackWithin5s: workersBack,
      sigtermExit,
      seconds: Math.round((Date.now() - began) / 100) / 10,
    };
    log(`${o.store}: ${JSON.stringify(report)}`);
    return report;
  } finally {
    app.remove();
    server?.stop();
    await dropDb();
  }
}

function childrenOf(pid: number): string[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function readLog(dir: string): { kind: 'start' | 'done'; n: number; pid: string; at: number }[] {
  const file = path.join(dir, 'storage', 'chaos.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
    const [kind, n, pid, at] = line.split(' ');
    return { kind: kind as 'start' | 'done', n: Number(n), pid: pid!, at: Number(at) };
  });
}

function doneSet(dir: string): Set<number> {
  return new Set(readLog(dir).filter((l) => l.kind === 'done').map((l) => l.n));
}
