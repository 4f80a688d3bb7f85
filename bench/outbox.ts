/**
 * The outbox's lag (src/flows/outbox/): from a transaction's commit to its job pushed to the job
 * store (Redis) by the relay, and to the job started by a worker of `rakit job:runall` (which
 * runs the relay beside its workers), with the app's data on PostgreSQL (LISTEN/NOTIFY wakes
 * the relay), MariaDB and SQLite (the relay polls). And what an idle relay costs the app's
 * database: its queries per second while nothing is committed.
 * Pushed is timed on PostgreSQL and MariaDB (see below why not SQLite).
 * Commits are spaced 5–30 ms apart at random, so they land at every phase of the poll.
 * Run alone: `tsx bench/outbox.ts [--commits 200] [--stores pg,mysql,sqlite]`; `npm run bench --
 * --only outbox` adds the rows to the bench's table and JSON.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import type { Knex } from 'knex';
import { Job } from '../src/api/job-facade.ts';
import { closeRuntime, configure } from '../src/api/runtime.ts';
import { createKnex } from '../src/drivers/database/database-connection.ts';
import { RedisDriver } from '../src/drivers/redis/redis.ts';
import { OutboxRelay, POLL_MS } from '../src/flows/outbox/relay.ts';
import { systemClock } from '../src/infra/clock.ts';
import { makeApp, type TestApp } from '../test/helpers/app.ts';
import { dropRedisPrefix, requireRedis, scratchDatabase, uniqueName } from '../test/helpers/servers.ts';

export const OUTBOX_STORES = ['pg', 'mysql', 'sqlite'] as const;
export type OutboxStore = (typeof OUTBOX_STORES)[number];

export interface OutboxLag {
  store: OutboxStore;
  commits: number;
  pushedP50: number;
  pushedP99: number;
  startedP50: number;
  startedP99: number;
  /** Queries the relay sends the app's database per second while the outbox stays empty. */
  idleQueriesPerSecond: number;
}

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.timeOrigin + performance.now();
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

const JOB = `import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Jobable } from 'rakit';
export default class OutboxLag extends Jobable<{ i: number }> {
  static tries = 1;
  run() { appendFileSync('storage/started.log', \`\${this.get('i')} \${performance.timeOrigin + performance.now()}\\n\`); }
}
`;

/** One commit dispatching job `i`; the time it committed. */
async function commit(knex: Knex, i: number): Promise<number> {
  await knex.transaction(async (trx) => {
    await trx('bench_orders').insert({ n: i });
    await Job.dispatch('outbox-lag', { i }).withTransaction(trx);
  });
  return now();
}

export async function outboxLag(store: OutboxStore, commits = 200): Promise<OutboxLag> {
  const redis = await requireRedis();
  const prefix = uniqueName('obb');
  let dropDatabase = async () => {};
  const app: TestApp = makeApp({}, { RAKIT_LOG_LEVEL: 'warn' });
  let database: string;
  if (store === 'sqlite') database = `sqlite:${path.join(app.dir, 'storage', 'app.sqlite')}`;
  else ({ url: database, drop: dropDatabase } = await scratchDatabase(store));
  const config = { driver: 'redis' as const, redis, prefix, database, outbox: true, sleep_ms: 50, logging: false };
  app.write('application/config/job.ts', `export default ${JSON.stringify(config)};\n`);
  app.write('application/jobs/OutboxLag.ts', JOB);
  const knex = createKnex(database, app.dir);
  const relayKnex = createKnex(database, app.dir);
  const driver = new RedisDriver(redis, prefix, systemClock);
  try {
    for (const step of [['job:table'], ['migrate']]) {
      const r = await app.rakit(step);
      if (r.code !== 0) throw new Error(`rakit ${step.join(' ')}: ${r.stderr}`);
    }
    await knex.schema.createTable('bench_orders', (t) => t.integer('n'));
    await configure(config, { root: app.dir, logger: silent });
    await commit(knex, -1); // connect first, as a running app already is
    await driver.pushMany([]); // and the relay's job store

    // Pushed: the relay in this process, its pushes timed; its idle queries counted first. Not on
    // SQLite: better-sqlite3 waits for a lock synchronously, and the relay would wait here for the
    // app's transaction in this very thread (the started figure covers the whole path there).
    const inProcess = store !== 'sqlite';
    const pushedAt = new Map<number, number>();
    let queries = 0;
    relayKnex.on('query', () => queries++);
    const timed = { pushMany: async (jobs: Parameters<RedisDriver['pushMany']>[0]) => {
      const results = await driver.pushMany(jobs);
      const at = now();
      for (const job of jobs) pushedAt.set((JSON.parse(job.payload) as { i?: number }).i ?? NaN, at);
      return results;
    } };
    const relay = new OutboxRelay(relayKnex, 'rakit_outbox', timed, silent);
    const stop = new AbortController();
    const running = inProcess ? relay.run(stop.signal) : Promise.resolve();
    await sleep(1_000);
    queries = 0;
    await sleep(3_000);
    // Without a relay here, POLL_MS says: one look per poll.
    const idleQueriesPerSecond = inProcess ? queries / 3 : 1000 / POLL_MS;
    const committedAt = new Map<number, number>();
    for (let i = 0; i < (inProcess ? commits : 0); i++) {
      committedAt.set(i, await commit(knex, i));
      await sleep(5 + Math.random() * 25);
    }
    const deadline = Date.now() + 10_000;
    while (inProcess && pushedAt.size < commits + 1 && Date.now() < deadline) await sleep(20);
    stop.abort();
    await running;
    const pushed = [...committedAt].map(([i, t]) => (pushedAt.get(i) ?? NaN) - t);

    // Started: job:runall (its relay and a worker) as an app runs it; the job notes when it starts.
    const runall = app.spawnRakit(['job:runall', '--concurrency=4'], { RAKIT_LOG_LEVEL: 'info' });
    await new Promise<void>((resolve, reject) => {
      runall.stderr!.on('data', (d: Buffer) => { if (d.toString().includes('Worker started')) resolve(); });
      runall.on('exit', () => reject(new Error('job:runall exited')));
    });
    await sleep(1_000);
    const startCommits = new Map<number, number>();
    for (let i = commits; i < 2 * commits; i++) {
      startCommits.set(i, await commit(knex, i));
      await sleep(5 + Math.random() * 25);
    }
    const file = path.join(app.dir, 'storage', 'started.log');
    const startedAt = new Map<number, number>();
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      startedAt.clear();
      try {
        for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
          const [i, t] = line.split(' ').map(Number);
          startedAt.set(i!, t!);
        }
      } catch {
        // none yet
      }
      if ([...startCommits.keys()].every((i) => startedAt.has(i))) break;
      await sleep(50);
    }
    runall.kill('SIGTERM');
    await new Promise((resolve) => runall.on('close', resolve));
    const started = [...startCommits].map(([i, t]) => (startedAt.get(i) ?? NaN) - t);
    if ([...pushed, ...started].some((x) => Number.isNaN(x))) throw new Error(`${store}: not every committed job was relayed and started`);
    return {
      store, commits, idleQueriesPerSecond,
      pushedP50: pct(pushed, 50), pushedP99: pct(pushed, 99), startedP50: pct(started, 50), startedP99: pct(started, 99),
    };
  } finally {
    await closeRuntime();
    await driver.close();
    await knex.destroy();
    await relayKnex.destroy();
    await dropRedisPrefix(redis, prefix);
    await dropDatabase();
    app.remove();
  }
}

/** The bench's rows (run.ts's `extra`) for the lags measured. */
export function outboxRows(lags: OutboxLag[]): Record<string, number> {
  const rows: Record<string, number> = {};
  for (const l of lags) {
    const pair = `redis+${l.store}`;
    rows[`outbox commit→pushed p50 ms (${pair})`] = l.pushedP50;
    rows[`outbox commit→pushed p99 ms (${pair})`] = l.pushedP99;
    rows[`outbox commit→started p50 ms (${pair})`] = l.startedP50;
    rows[`outbox commit→started p99 ms (${pair})`] = l.startedP99;
    rows[`outbox idle relay queries/s (${pair})`] = l.idleQueriesPerSecond;
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { commits: { type: 'string', default: '200' }, stores: { type: 'string', default: OUTBOX_STORES.join(',') } } });
  const f = (x: number) => x.toFixed(1);
  console.log('| app data | commits | pushed p50 ms | pushed p99 ms | started p50 ms | started p99 ms | idle queries/s |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const store of values.stores.split(',') as OutboxStore[]) {
    const l = await outboxLag(store, Number(values.commits));
    console.log(`| ${store} | ${l.commits} | ${f(l.pushedP50)} | ${f(l.pushedP99)} | ${f(l.startedP50)} | ${f(l.startedP99)} | ${f(l.idleQueriesPerSecond)} |`);
  }
  console.log('\nThe fault run (kill -9 of the app, the relay and the workers): npm run chaos:transactions (test/chaos/transactions-faults.ts).');
  process.exit(0);
}
