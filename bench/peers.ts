/**
 * The peers, driven the way their docs show, on the same servers as our drivers: BullMQ and
 * bee-queue on Redis, graphile-worker on PostgreSQL, and a loop doing what Laravel's database
 * queue does on MariaDB (per job: SELECT … FOR UPDATE SKIP LOCKED + UPDATE in a transaction,
 * then DELETE). Each subject runs in its own process (bench/subject.ts).
 */
import { performance } from 'node:perf_hooks';
import BeeQueue from 'bee-queue';
import { Queue, Worker } from 'bullmq';
import { Logger, makeWorkerUtils, run as runGraphile } from 'graphile-worker';
import mysql from 'mysql2/promise';
import type { Subject } from './subject.ts';

const REDIS = { host: '127.0.0.1', port: 6379 };
export const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

const now = () => performance.timeOrigin + performance.now();

/** Runs `one` n times with `inFlight` calls outstanding; returns elapsed ms. */
export async function inFlight(n: number, width: number, one: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await one(next++);
  }));
  return performance.now() - start;
}

/** A promise with its resolve, resolved when `count` reaches `target`. */
function counter(target: number) {
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  let count = 0;
  return { finished, tick: () => { if (++count === target) done(); } };
}

export const bullmq: Subject = {
  async dispatch(n) {
    const queue = new Queue('bench-dispatch', { connection: REDIS });
    await queue.obliterate({ force: true });
    const ms = await inFlight(n, 100, () => queue.add('noop', {}, { removeOnComplete: true }));
    await queue.obliterate({ force: true });
    await queue.close();
    return ms;
  },
  async bulk(n) {
    const queue = new Queue('bench-bulk', { connection: REDIS });
    await queue.obliterate({ force: true }); // connected first, as a running app already is
    const jobs = Array.from({ length: n }, () => ({ name: 'noop', data: {}, opts: { removeOnComplete: true } }));
    const start = performance.now();
    const added = await queue.addBulk(jobs);
    const ms = performance.now() - start;
    if (added.length !== n) throw new Error('not every job was stored');
    await queue.obliterate({ force: true });
    await queue.close();
    return ms;
  },
  async process(n, concurrency) {
    const queue = new Queue('bench-process', { connection: REDIS });
    await queue.obliterate({ force: true });
    for (let i = 0; i < n; i += 1000) {
      await queue.addBulk(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: 'noop', data: {}, opts: { removeOnComplete: true } })));
    }
    const done = counter(n);
    const start = performance.now();
    const worker = new Worker('bench-process', async () => undefined, { connection: REDIS, concurrency });
    worker.on('completed', done.tick);
    await done.finished;
    const ms = performance.now() - start;
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    return ms;
  },
  async latency(samples) {
    const queue = new Queue('bench-latency', { connection: REDIS });
    await queue.obliterate({ force: true });
    const out: number[] = [];
    const done = counter(samples);
    const worker = new Worker('bench-latency', async (job) => {
      out.push(now() - (job.data as { t: number }).t);
      done.tick();
    }, { connection: REDIS, concurrency: 1 });
    await worker.waitUntilReady();
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < samples; i++) {
      await queue.add('noop', { t: now() }, { removeOnComplete: true });
      await new Promise((r) => setTimeout(r, 10));
    }
    await done.finished;
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    return out;
  },
};

export const beeQueue: Subject = {
  async dispatch(n) {
    const queue = new BeeQueue('bench-dispatch', { redis: REDIS, isWorker: false, removeOnSuccess: true, getEvents: false, sendEvents: false });
    await queue.ready();
    const ms = await inFlight(n, 100, () => queue.createJob({}).save());
    await queue.destroy();
    await queue.close();
    return ms;
  },
  async process(n, concurrency) {
    const producer = new BeeQueue('bench-process', { redis: REDIS, isWorker: false, removeOnSuccess: true, getEvents: false });
    await producer.ready();
    await producer.destroy();
    for (let i = 0; i < n; i += 1000) await producer.saveAll(Array.from({ length: Math.min(1000, n - i) }, () => producer.createJob({})));
    const done = counter(n);
    const start = performance.now();
    const queue = new BeeQueue('bench-process', { redis: REDIS, removeOnSuccess: true, getEvents: false, sendEvents: false });
    queue.on('succeeded', done.tick);
    queue.process(concurrency, async () => undefined);
    await done.finished;
    const ms = performance.now() - start;
    await queue.close();
    await producer.destroy();
    await producer.close();
    return ms;
  },
  async latency(samples) {
    const producer = new BeeQueue('bench-latency', { redis: REDIS, isWorker: false, removeOnSuccess: true, getEvents: false });
    const queue = new BeeQueue('bench-latency', { redis: REDIS, removeOnSuccess: true, getEvents: false, sendEvents: false });
    await Promise.all([producer.ready(), queue.ready()]);
    const out: number[] = [];
    const done = counter(samples);
    queue.process(1, async (job: BeeQueue.Job<{ t: number }>) => {
      out.push(now() - job.data.t);
      done.tick();
    });
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < samples; i++) {
      await producer.createJob({ t: now() }).save();
      await new Promise((r) => setTimeout(r, 10));
    }
    await done.finished;
    await queue.close();
    await producer.destroy();
    await producer.close();
    return out;
  },
};

async function graphileReset() {
  const utils = await makeWorkerUtils({ connectionString: PG_URL });
  await utils.migrate();
  await utils.withPgClient((client) => client.query('DELETE FROM graphile_worker._private_jobs'));
  return utils;
}

export const graphile: Subject = {
  async dispatch(n) {
    const utils = await graphileReset();
    const ms = await inFlight(n, 100, () => utils.addJob('noop', {}));
    await utils.withPgClient((client) => client.query('DELETE FROM graphile_worker._private_jobs'));
    await utils.release();
    return ms;
  },
  async process(n, concurrency) {
    const utils = await graphileReset();
    await inFlight(n, 100, () => utils.addJob('noop', {}));
    await utils.release();
    const done = counter(n);
    const start = performance.now();
    const runner = await runGraphile({
      connectionString: PG_URL, concurrency, noHandleSignals: true, pollInterval: 1000,
      logger: quietGraphileLogger(), taskList: { noop: async () => done.tick() },
    });
    await done.finished;
    const ms = performance.now() - start;
    await runner.stop();
    return ms;
  },
  async latency(samples) {
    const utils = await graphileReset();
    const out: number[] = [];
    const done = counter(samples);
    const runner = await runGraphile({
      connectionString: PG_URL, concurrency: 1, noHandleSignals: true, pollInterval: 1000,
      logger: quietGraphileLogger(),
      taskList: { noop: async (payload) => { out.push(now() - (payload as { t: number }).t); done.tick(); } },
    });
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < samples; i++) {
      await utils.addJob('noop', { t: now() });
      await new Promise((r) => setTimeout(r, 10));
    }
    await done.finished;
    await runner.stop();
    await utils.release();
    return out;
  },
};

function quietGraphileLogger() {
  return new Logger(() => () => undefined);
}

/** Laravel's database queue, re-created: what `php artisan queue:work database` does per job. */
export const laravel: Subject = {
  async dispatch(n) {
    const pool = await laravelTable();
    const ms = await inFlight(n, 100, () => pool.query(
      'INSERT INTO bench_laravel_jobs (queue, payload, attempts, available_at, created_at) VALUES (?, ?, 0, ?, ?)',
      ['default', '{"job":"noop","data":{}}', Math.floor(Date.now() / 1000), Math.floor(Date.now() / 1000)],
    ));
    await pool.end();
    return ms;
  },
  async process(n, concurrency) {
    const pool = await laravelTable();
    await inFlight(n, 100, () => pool.query(
      'INSERT INTO bench_laravel_jobs (queue, payload, attempts, available_at, created_at) VALUES (?, ?, 0, ?, ?)',
      ['default', '{"job":"noop","data":{}}', Math.floor(Date.now() / 1000), Math.floor(Date.now() / 1000)],
    ));
    const start = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      const conn = await pool.getConnection();
      await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
      for (;;) {
        const t = Math.floor(Date.now() / 1000);
        await conn.beginTransaction();
        const [rows] = await conn.query(
          'SELECT * FROM bench_laravel_jobs WHERE queue = ? AND ((reserved_at IS NULL AND available_at <= ?) OR reserved_at <= ?) ORDER BY id ASC LIMIT 1 FOR UPDATE SKIP LOCKED',
          ['default', t, t - 90],
        ) as [{ id: number; payload: string }[], unknown];
        const job = rows[0];
        if (!job) {
          await conn.commit();
          break;
        }
        await conn.query('UPDATE bench_laravel_jobs SET reserved_at = ?, attempts = attempts + 1 WHERE id = ?', [t, job.id]);
        await conn.commit();
        JSON.parse(job.payload);
        await conn.query('DELETE FROM bench_laravel_jobs WHERE id = ?', [job.id]);
      }
      conn.release();
    }));
    const ms = performance.now() - start;
    await pool.end();
    return ms;
  },
  async latency() {
    return [];
  },
};

async function laravelTable() {
  const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 100 });
  await pool.query('DROP TABLE IF EXISTS bench_laravel_jobs');
  // Laravel's jobs table migration.
  await pool.query(`CREATE TABLE bench_laravel_jobs (
    id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, queue VARCHAR(255) NOT NULL, payload LONGTEXT NOT NULL,
    attempts TINYINT UNSIGNED NOT NULL, reserved_at INT UNSIGNED NULL, available_at INT UNSIGNED NOT NULL,
    created_at INT UNSIGNED NOT NULL, INDEX jobs_queue_index (queue)) ENGINE=InnoDB`);
  return pool;
}
