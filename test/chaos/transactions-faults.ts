/**
 * Jobs dispatched in the app's transaction, under kill -9: an app process runs N transactions,
 * each writing an app row and dispatching a job for it with `.withTransaction(trx)`, a third of
 * them rolled back on purpose; meanwhile the app process, the relay (`rakit job:relay`, and the
 * one `job:runall` runs), the manager and its worker processes are killed at random moments and
 * started again. Every run of a job is appended to a file (start and end, with the process id),
 * so a job run twice shows twice. Afterwards the jobs run must be the committed app rows: none
 * missing, none for a rolled-back or never-committed transaction, and a job run again only where
 * its earlier run was in a process that was killed (at least once, by contract).
 * Pairings: the job store on the app's database (SQLite, MariaDB, PostgreSQL), or on Redis with
 * the app's data on MariaDB or PostgreSQL, through the outbox.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createKnex } from '../../src/drivers/database/database-connection.ts';
import { REPO, makeApp, type TestApp } from '../helpers/app.ts';
import { dropRedisPrefix, requireRedis, scratchDatabase, uniqueName } from '../helpers/servers.ts';

export type TxPairing = 'sqlite' | 'mysql' | 'pg' | 'redis+mysql' | 'redis+pg';
export const TX_PAIRINGS: TxPairing[] = ['sqlite', 'mysql', 'pg', 'redis+mysql', 'redis+pg'];

export interface TxFaultOptions {
  pairing: TxPairing;
  transactions: number;
  /** kill -9s at least, spread over the app process, the relay, the manager and the workers. */
  kills: number;
  log?: (line: string) => void;
}

export interface TxFaultReport {
  pairing: TxPairing;
  transactions: number;
  /** App rows in the database at the end: the transactions that committed. */
  committed: number;
  /** Transactions rolled back on purpose. */
  rolledBack: number;
  /** Transactions that failed on their own (a deadlock, a busy database): not committed. */
  failed: number;
  /** Transactions under way when their app process was killed (committed or not: the rows say). */
  killedMidTransaction: number;
  kills: { total: number; app: number; relay: number; manager: number; worker: number };
  /** Distinct jobs that ran to their end. */
  jobsRun: number;
  /** Committed rows whose job never ran to its end. */
  missing: number;
  /** Jobs that ran again after a run in a process nobody killed: must be 0. */
  doubles: number;
  /** Jobs that ran again because their earlier run was in a killed process (at least once). */
  rerunAfterKill: number;
  /** Jobs that ran for a transaction rolled back on purpose. */
  ranForRolledBack: number;
  /** Jobs that ran for any transaction that did not commit (rolled back, failed, killed). */
  ranWithoutRow: number;
  /** Jobs still stored, or in the outbox, at the end. */
  leftStored: number;
  seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
const TSX_LOADER = pathToFileURL(path.join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
/** Job timeout 2 s: a job whose worker was killed is claimed again 17 s later (timeout + the lease's grace). */
const JOB = `import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Jobable } from 'rakit';

export default class TxFault extends Jobable<{ id: number }> {
  static timeout = 2;
  static tries = 100;
  static backoff = 0;
  async run() {
    appendFileSync('storage/runs.log', \`start \${this.get('id')} \${process.pid}\\n\`);
    await sleep(Math.random() * 20);
    appendFileSync('storage/runs.log', \`done \${this.get('id')} \${process.pid}\\n\`);
  }
}
`;

/** The app: four lanes of transactions, carrying on after the last one it began. */
const dispatcher = (knexConfig: object, total: number) => `import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import knexFactory from 'knex';
import { Job } from 'rakit';
import TxFault from './application/jobs/TxFault.ts';

const LOG = 'storage/tx.log';
const knex = knexFactory(${JSON.stringify(knexConfig)});
let next = 0;
if (existsSync(LOG)) for (const line of readFileSync(LOG, 'utf8').split('\\n')) {
  const [kind, id] = line.split(' ');
  if (kind === 'begin') next = Math.max(next, Number(id) + 1);
}
class RolledBack extends Error {}
async function lane() {
  while (next < ${total}) {
    const id = next++;
    appendFileSync(LOG, \`begin \${id}\\n\`);
    try {
      await knex.transaction(async (trx) => {
        await trx('fault_rows').insert({ id });
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 4)); // the app's own work in its transaction
        await TxFault.dispatch({ id }).withTransaction(trx);
        if (id % 3 === 0) throw new RolledBack();
      });
      appendFileSync(LOG, \`commit \${id}\\n\`);
    } catch (error) {
      appendFileSync(LOG, error instanceof RolledBack ? \`rollback \${id}\\n\` : \`error \${id} \${String((error as Error).message).replace(/\\s+/g, ' ')}\\n\`);
    }
  }
}
await Promise.all([lane(), lane(), lane(), lane()]);
await knex.destroy();
await Job.close();
`;

type Kind = 'app' | 'relay' | 'manager' | 'worker';

/** A process started in a group of its own, so a kill takes it and its children. */
class Restartable {
  proc: ChildProcess | null = null;
  exited: Promise<number | null> = Promise.resolve(null);
  done = false;
  stderr = '';
  constructor(private readonly start: () => ChildProcess) {}

  run(): void {
    const proc = (this.proc = this.start());
    this.stderr = '';
    proc.stderr?.on('data', (d) => (this.stderr = (this.stderr + d).slice(-4000)));
    proc.stdout?.resume();
    this.exited = new Promise((resolve) => proc.on('close', (code) => resolve(code)));
  }

  get alive(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** kill -9 of the group; the process ids it took. */
  async kill(): Promise<string[]> {
    const pid = this.proc?.pid;
    if (!pid || !this.alive) return [];
    const taken = [String(pid), ...childrenOf(pid)];
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
    await this.exited;
    return taken;
  }
}

export async function runTxFaults(o: TxFaultOptions): Promise<TxFaultReport> {
  const log = o.log ?? (() => undefined);
  const began = Date.now();
  const outbox = o.pairing.startsWith('redis+');
  const sql = o.pairing.replace('redis+', '') as 'sqlite' | 'mysql' | 'pg';
  let dropDatabase = async () => {};
  let redis: { url: string; prefix: string } | null = null;
  let app: TestApp | null = null;
  const group: Restartable[] = [];
  try {
    let database: string;
    if (sql === 'sqlite') database = 'sqlite:storage/jobs.sqlite';
    else {
      const scratch = await scratchDatabase(sql);
      database = scratch.url;
      dropDatabase = scratch.drop;
    }
    if (outbox) redis = { url: await requireRedis(), prefix: uniqueName('txf') };
    app = makeApp({ database, ...(redis ? { driver: 'redis', redis: redis.url, prefix: redis.prefix, outbox: true } : {}), sleep_ms: 50, logging: false });
    const dir = app.dir;
    // The app's own knex, as installed beside rakit.
    symlinkSync(path.join(REPO, 'node_modules', 'knex'), path.join(dir, 'node_modules', 'knex'), 'dir');
    app.write('application/jobs/TxFault.ts', JOB);
    for (const step of [['job:table'], ['migrate']]) {
      const r = await app.rakit(step);
      if (r.code !== 0) throw new Error(`rakit ${step.join(' ')} failed: ${r.stderr}`);
    }
    const appDb = createKnex(database, dir);
    try {
      await appDb.schema.createTable('fault_rows', (t) => t.integer('id').primary());
    } finally {
      await appDb.destroy();
    }
    const knexConfig = sql === 'sqlite'
      ? { client: 'better-sqlite3', connection: { filename: path.join(dir, 'storage', 'jobs.sqlite') }, useNullAsDefault: true }
      : { client: sql === 'mysql' ? 'mysql2' : 'pg', connection: database, pool: { min: 0, max: 4 } };
    app.write('dispatch.ts', dispatcher(knexConfig, o.transactions));

    const env = { ...app.env, RAKIT_LOG_LEVEL: 'error' };
    const detached = (args: string[]) => () => spawn(process.execPath, args, { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const bin = path.join(REPO, 'bin', 'rakit.js');
    const dispatching = new Restartable(detached(['--import', TSX_LOADER, 'dispatch.ts']));
    const manager = new Restartable(detached([bin, 'job:runall', '--processes=2', '--concurrency=4', '--sleep=50']));
    const relay = outbox ? new Restartable(detached([bin, 'job:relay'])) : null;
    group.push(dispatching, manager, ...(relay ? [relay] : []));
    for (const p of group) p.run();

    const killed = new Set<string>();
    const kills = { total: 0, app: 0, relay: 0, manager: 0, worker: 0 };
    const appDone = async () => {
      if (dispatching.alive) return false;
      const code = await dispatching.exited;
      if (code === 0) return true;
      throw new Error(`the app process exited ${code}: ${dispatching.stderr}`);
    };
    // Kills at random moments until the app has dispatched everything and enough kills are in.
    // The app is killed again only once it has begun some transactions since its restart.
    let begunAtStart = 0;
    const begun = () => lines(path.join(dir, 'storage', 'tx.log')).filter(([kind]) => kind === 'begin').length;
    while (!(await appDone()) || kills.total < o.kills) {
      await sleep(kills.total < o.kills ? between(150, 900) : between(1_500, 4_000));
      const appReady = dispatching.alive && begun() >= begunAtStart + 20;
      const kinds: Kind[] = [...(appReady ? ['app', 'app'] as Kind[] : []), 'worker', 'manager', ...(relay ? ['relay'] as Kind[] : [])];
      // A third of the kills at least go to the app while it dispatches.
      const kind = appReady && kills.app < Math.ceil(o.kills / 3) && Math.random() < 0.7 ? 'app' : kinds[Math.floor(Math.random() * kinds.length)]!;
      let taken: string[] = [];
      if (kind === 'worker') {
        const children = manager.proc?.pid ? childrenOf(manager.proc.pid) : [];
        const victim = children[Math.floor(Math.random() * children.length)];
        if (!victim) continue;
        try {
          process.kill(Number(victim), 'SIGKILL');
          taken = [victim];
        } catch {
          continue;
        }
      } else {
        const target = kind === 'app' ? dispatching : kind === 'manager' ? manager : relay!;
        taken = await target.kill();
        if (taken.length === 0) continue;
        await sleep(between(0, 300));
        if (kind === 'app') begunAtStart = begun();
        target.run();
      }
      for (const pid of taken) killed.add(pid);
      kills[kind]++;
      kills.total++;
    }
    log(`${o.pairing}: ${o.transactions} transactions dispatched; kills ${JSON.stringify(kills)}`);

    const rows = new Set<number>((await readRows(database, dir)));
    // Every committed row's job run, the ones a killed worker held once their lease lapsed.
    const end = Date.now() + 120_000;
    while (Date.now() < end && [...rows].some((id) => !runsOf(dir).done.has(id))) await sleep(500);
    for (const p of group) {
      p.proc?.kill('SIGTERM');
      await p.exited;
    }
    // What a killed worker held when the wait ran out: wait its lease out and run it.
    let leftStored = await stored(app, outbox);
    for (let round = 0; round < 3 && leftStored > 0; round++) {
      log(`${o.pairing}: ${leftStored} jobs still stored; waiting for their leases`);
      await sleep(18_000);
      await app.rakit(['job:runall', '--stop-when-empty', '--processes=2', '--concurrency=4'], { RAKIT_LOG_LEVEL: 'error' });
      leftStored = await stored(app, outbox);
    }

    const outcomes = txLog(dir);
    const runs = runsOf(dir);
    let doubles = 0;
    let rerunAfterKill = 0;
    for (const pids of runs.starts.values()) {
      if (pids.length < 2) continue;
      if (pids.slice(0, -1).every((pid) => killed.has(pid))) rerunAfterKill++;
      else doubles++;
    }
    const ranIds = [...runs.starts.keys()];
    const report: TxFaultReport = {
      pairing: o.pairing,
      transactions: o.transactions,
      committed: rows.size,
      rolledBack: outcomes.rollback.size,
      failed: outcomes.error.size,
      killedMidTransaction: outcomes.unfinished.size,
      kills,
      jobsRun: runs.done.size,
      missing: [...rows].filter((id) => !runs.done.has(id)).length,
      doubles,
      rerunAfterKill,
      ranForRolledBack: ranIds.filter((id) => outcomes.rollback.has(id)).length,
      ranWithoutRow: ranIds.filter((id) => !rows.has(id)).length,
      leftStored,
      seconds: Math.round((Date.now() - began) / 100) / 10,
    };
    // Rows of transactions rolled back on purpose cannot exist: the database itself would be wrong.
    if ([...outcomes.rollback].some((id) => rows.has(id))) throw new Error('a transaction rolled back on purpose left its row');
    log(`${o.pairing}: ${JSON.stringify(report)}`);
    return report;
  } finally {
    for (const p of group) await p.kill();
    app?.remove();
    if (redis) await dropRedisPrefix(redis.url, redis.prefix);
    await dropDatabase();
  }
}

/** One line of figures, as `npm run chaos:transactions` prints it. */
export function formatTxFaults(r: TxFaultReport): string {
  return `${r.pairing.padEnd(11)} tx ${r.transactions}  committed ${r.committed}  rolled-back ${r.rolledBack}  failed ${r.failed}  ` +
    `killed-mid-tx ${r.killedMidTransaction}  kills ${r.kills.total} (app ${r.kills.app}, relay ${r.kills.relay}, manager ${r.kills.manager}, worker ${r.kills.worker})  ` +
    `jobs-run ${r.jobsRun}  missing ${r.missing}  doubles ${r.doubles}  rerun-after-kill ${r.rerunAfterKill}  ` +
    `ran-for-rolled-back ${r.ranForRolledBack}  ran-without-row ${r.ranWithoutRow}  left ${r.leftStored}  ${r.seconds} s`;
}

/** Whether a report proves the guarantee. */
export const txFaultsHold = (r: TxFaultReport): boolean =>
  r.missing === 0 && r.doubles === 0 && r.ranWithoutRow === 0 && r.leftStored === 0 && r.jobsRun === r.committed;

async function readRows(database: string, dir: string): Promise<number[]> {
  const knex = createKnex(database, dir);
  try {
    return (await knex('fault_rows').pluck('id')).map(Number);
  } finally {
    await knex.destroy();
  }
}

/** Jobs still in the job store (ready, scheduled, reserved) and in the outbox. */
async function stored(app: TestApp, outbox: boolean): Promise<number> {
  if (outbox) await app.rakit(['job:relay', '--once'], { RAKIT_LOG_LEVEL: 'error' });
  const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout) as { outbox?: number; queues: { ready: number; scheduled: number; reserved: number }[] };
  return (status.outbox ?? 0) + status.queues.reduce((n, q) => n + q.ready + q.scheduled + q.reserved, 0);
}

function lines(file: string): string[][] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')) : [];
}

function txLog(dir: string): { rollback: Set<number>; error: Set<number>; unfinished: Set<number> } {
  const begun = new Set<number>();
  const ended = new Set<number>();
  const rollback = new Set<number>();
  const error = new Set<number>();
  for (const [kind, id] of lines(path.join(dir, 'storage', 'tx.log'))) {
    const n = Number(id);
    if (kind === 'begin') begun.add(n);
    else ended.add(n);
    if (kind === 'rollback') rollback.add(n);
    if (kind === 'error') error.add(n);
  }
  return { rollback, error, unfinished: new Set([...begun].filter((n) => !ended.has(n))) };
}

function runsOf(dir: string): { starts: Map<number, string[]>; done: Set<number> } {
  const starts = new Map<number, string[]>();
  const done = new Set<number>();
  for (const [kind, id, pid] of lines(path.join(dir, 'storage', 'runs.log'))) {
    const n = Number(id);
    if (kind === 'start') starts.set(n, [...(starts.get(n) ?? []), pid!]);
    else done.add(n);
  }
  return { starts, done };
}

function childrenOf(pid: number): string[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
