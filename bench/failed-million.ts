/**
 * `npx tsx bench/failed-million.ts <store> [failures]`: seeds the failed store natively with
 * `failures` failed jobs that a filter matches (queue `mail`, job `send-email`, an SMTP timeout)
 * and one in ten that it does not (another job and error on the same queue), then times what an
 * operator does: the Failed page's first page and counts, `job:failed`'s filtered count, and
 * `job:retry --queue mail --name send-email --error timeout --since ...` (store/failed/failed-sweep.ts,
 * the code behind the command). Stores: pg, mysql, sqlite, redis, cluster, file, memcached.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { systemClock } from '../src/infra/clock.ts';
import type { FullDriver } from '../src/store/driver.ts';
import { EVERY_FAILURE } from '../src/store/failed/failed-view.ts';
import { FailedSweeps } from '../src/store/failed/failed-sweep.ts';
import { createTestDatabase } from '../test/helpers/database.ts';
import { CLUSTER_URL, REDIS_URL, dropClusterPrefix, dropRedisPrefix, requireCluster, requireMemcached, requireRedis, uniqueName } from '../test/helpers/servers.ts';

const [store = 'pg', count = '1000000'] = process.argv.slice(2);
const N = Number(count);
const OTHERS = Math.floor(N / 10);
const T0 = Date.now() - 30 * 86_400_000;
const STACK = '\n    at SmtpClient.send (src/mail/smtp.ts:88:13)\n    at SendEmail.run (app/jobs/SendEmail.ts:21:5)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)';
/** Row i: every tenth one the filter does not match; failed a second apart, newest last. */
const row = (i: number) => {
  const other = i % 11 === 10;
  return {
    name: other ? 'make-report' : 'send-email', error: other ? `Error: disk full${STACK}` : `Error: SMTP Timeout after 30000 ms${STACK}`,
    payload: `{"to":"user${i}@example.com"}`, failedAt: T0 + i * 1000,
  };
};
const TOTAL = N + OTHERS;

const ms = (from: number) => Math.round(performance.now() - from);
// The store clients do not hold the process open by themselves (a script that dispatches exits when done).
const alive = setInterval(() => undefined, 60_000);
const t = performance.now();
const { driver, seed, drop } = await open(store);
try {
  await measure();
} finally {
  await drop();
  clearInterval(alive);
}

async function measure(): Promise<void> {
  await seed();
  console.log(`${store}: seeded ${TOTAL} failed jobs (${N} matching) in ${ms(t)} ms`);

  let at = performance.now();
  const [firstPage, counts] = await Promise.all([driver.listFailed({ ...EVERY_FAILURE, after: null, limit: 50 }), driver.countFailed(EVERY_FAILURE)]);
  console.log(`Failed page (newest 50 and counts by queue and job): ${ms(at)} ms; total ${counts.total}, by job ${JSON.stringify(counts.byName)}`);
  const filter = { ...EVERY_FAILURE, queue: 'mail', name: 'send-email', error: 'timeout', since: T0 };
  at = performance.now();
  const matched = (await driver.countFailed(filter)).total;
  console.log(`filtered count: ${matched} in ${ms(at)} ms`);
  at = performance.now();
  const sweeps = new FailedSweeps(driver, systemClock);
  const started = await sweeps.start('retry', filter, `bench ${Date.now()}`);
  const run = await sweeps.work(started.run!);
  const took = ms(at);
  console.log(`retry by filter: ${run.retried} queued again, ${run.overlapping} overlapping, ${run.missing} missing, of ${run.total}, in ${took} ms (${Math.round(run.retried / (took / 1000))}/s)`);
  const after = await driver.countFailed(EVERY_FAILURE);
  const ready = (await driver.stats()).find((s) => s.queue === 'mail');
  console.log(`left failed: ${after.total} (expected ${OTHERS}); mail queue ready: ${ready?.ready} (expected ${N}); first page ${firstPage.jobs.length}`);
  if (after.total !== OTHERS || ready?.ready !== N || run.retried !== N) process.exitCode = 1;
}

async function open(kind: string): Promise<{ driver: FullDriver; seed(): Promise<void>; drop(): Promise<void> }> {
  if (kind === 'pg' || kind === 'mysql' || kind === 'sqlite') {
    const db = await createTestDatabase(kind);
    const driver = db.driver(systemClock);
    return { driver, seed: () => seedSql(db.knex, db.failedTable, kind), drop: () => db.drop() };
  }
  if (kind === 'redis' || kind === 'cluster') {
    const url = kind === 'redis' ? await requireRedis(REDIS_URL) : await requireCluster();
    const { RedisDriver } = await import('../src/drivers/redis/redis.ts');
    const prefix = uniqueName('fm');
    const driver = new RedisDriver(kind === 'redis' ? url : CLUSTER_URL, prefix, systemClock);
    return {
      driver,
      seed: async () => {
        await driver.queues(); // opens the connection
        await seedRedis(driver as unknown as RedisLike, prefix);
      },
      drop: async () => {
        await driver.close();
        await (kind === 'redis' ? dropRedisPrefix(url, prefix) : dropClusterPrefix(prefix));
      },
    };
  }
  // file and memcached: seeded through the driver, as workers fail jobs (no native bulk path).
  const root = mkdtempSync(path.join(os.tmpdir(), 'rakit-fm-'));
  const driver: FullDriver = kind === 'file'
    ? new (await import('../src/drivers/file/file.ts')).FileDriver(path.join(root, 'jobs'), systemClock)
    : new (await import('../src/drivers/memcached/memcached.ts')).MemcachedDriver(await requireMemcached(), uniqueName('fm'), systemClock);
  return {
    driver,
    seed: async () => {
      for (let i = 0; i < TOTAL; i += 100) {
        const jobs = Array.from({ length: Math.min(100, TOTAL - i) }, (_, k) => ({ name: row(i + k).name, queue: 'mail', payload: row(i + k).payload, scheduledAt: 0, overlapKey: null }));
        await driver.pushMany(jobs);
        const held = await driver.reserve({ queues: ['mail'], names: null, limit: jobs.length, leases: { byName: {}, defaultMs: 60_000 } });
        await Promise.all(held.map((h) => driver.fail(h, { exception: row(Number(/user(\d+)/.exec(h.payload)![1])).error })));
      }
    },
    drop: async () => {
      await driver.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function seedSql(knex: Knex, table: string, kind: string): Promise<void> {
  if (kind === 'pg') {
    await knex.raw(`INSERT INTO ${table} (job_id, name, queue, payloads, exception, attempts, overlap_key, failed_at)
      SELECT i::text, CASE WHEN i % 11 = 10 THEN 'make-report' ELSE 'send-email' END, 'mail', '{"to":"user' || i || '@example.com"}',
        CASE WHEN i % 11 = 10 THEN ? ELSE ? END, 3, NULL, ?::bigint + i * 1000 FROM generate_series(0, ?::int - 1) AS i`, [row(10).error, row(0).error, T0, TOTAL]);
    await knex.raw(`ANALYZE ${table}`);
    return;
  }
  for (let i = 0; i < TOTAL; i += 2000) {
    const rows = Array.from({ length: Math.min(2000, TOTAL - i) }, (_, k) => {
      const r = row(i + k);
      return { job_id: String(i + k), name: r.name, queue: 'mail', payloads: r.payload, exception: r.error, attempts: 3, overlap_key: null, failed_at: r.failedAt };
    });
    await knex.transaction(async (trx) => {
      for (let k = 0; k < rows.length; k += 200) await trx(table).insert(rows.slice(k, k + 200));
    });
  }
}

interface RedisLike {
  redis: { pipeline(): { hset(key: string, value: Record<string, string | number>): unknown; zadd(key: string, ...args: (string | number)[]): unknown; exec(): Promise<unknown> }; sadd(key: string, m: string): Promise<unknown>; set(key: string, v: string): Promise<unknown> };
}

async function seedRedis(driver: RedisLike, prefix: string): Promise<void> {
  const k = (part: string) => `${prefix}:{mail}:${part}`;
  await driver.redis.sadd(`${prefix}:queues`, 'mail');
  for (let i = 0; i < TOTAL; i += 5000) {
    const p = driver.redis.pipeline();
    const scores: (string | number)[] = [];
    for (let n = i; n < Math.min(TOTAL, i + 5000); n++) {
      const r = row(n);
      const m = String(n + 1).padStart(12, '0');
      p.hset(k(`f:${m}`), { name: r.name, payload: r.payload, okey: '', exception: r.error, attempts: 3, failed_at: r.failedAt });
      scores.push(r.failedAt, m);
    }
    p.zadd(k('failed'), ...scores);
    await p.exec();
  }
  await driver.redis.set(k('seq'), String(TOTAL));
}

