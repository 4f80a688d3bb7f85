/**
 * The outbox (src/outbox/), with the job store on Redis and the app's data on SQLite, MariaDB
 * and PostgreSQL: `job:table` writes the outbox table's migration and `migrate` makes it; jobs
 * dispatched in the app's knex transaction commit and roll back with its rows; `job:status`
 * shows them waiting; `job:runall` relays then runs them; a relay killed between its push and
 * its delete leaves the rows for the next relay, and the job pushed twice runs once; the lag
 * from commit to the queue, with the relay running.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import knexFactory, { type Knex } from 'knex';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Job } from '../src/api/job-facade.ts';
import { closeRuntime, configure } from '../src/api/runtime.ts';
import { createKnex } from '../src/drivers/database/database-connection.ts';
import { RedisDriver } from '../src/drivers/redis/redis.ts';
import { systemClock } from '../src/infra/clock.ts';
import { OutboxRelay } from '../src/flows/outbox/relay.ts';
import { makeApp, writeConfig, type TestApp } from './helpers/app.ts';
import { DATABASES, dropRedisPrefix, requireRedis, scratchDatabase, uniqueName } from './helpers/servers.ts';

const silent = pino({ level: 'silent' });
const TABLE = 'rakit_outbox';

for (const kind of DATABASES) {
  describe(`the outbox: jobs on Redis, the app's data on ${kind}`, () => {
    let app: TestApp;
    let knex: Knex;
    let driver: RedisDriver;
    let redisUrl: string;
    let prefix: string;
    let dropDatabase = async () => {};
    const ran = (tag: string) => app.ranLog().filter((line) => line === tag).length;
    const status = async () => JSON.parse((await app.rakit(['job:status', '--json'])).stdout) as { outbox?: number; queues: { queue: string; ready: number }[] };

    beforeAll(async () => {
      redisUrl = await requireRedis();
      prefix = uniqueName('ob');
      app = makeApp();
      let database: string;
      if (kind === 'sqlite') database = `sqlite:${path.join(app.dir, 'storage', 'app.sqlite')}`;
      else {
        const scratch = await scratchDatabase(kind);
        database = scratch.url;
        dropDatabase = scratch.drop;
      }
      const config = { driver: 'redis' as const, redis: redisUrl, prefix, database, outbox: true, sleep_ms: 50, logging: true };
      writeConfig(app.dir, config);
      const table = await app.rakit(['job:table']);
      expect(table.stdout).toMatch(/Created migrations\/\d+_create_rakit_outbox_table\.ts — now run: rakit migrate/);
      expect((await app.rakit(['migrate'])).code).toBe(0);
      knex = createKnex(database, app.dir);
      await knex.schema.createTable('orders', (t) => t.string('ref', 32));
      driver = new RedisDriver(redisUrl, prefix, systemClock);
      await configure(config, { root: app.dir, logger: silent });
    }, 120_000);
    afterAll(async () => {
      await closeRuntime();
      await driver?.close();
      await knex?.destroy();
      await dropRedisPrefix(redisUrl, prefix);
      await dropDatabase();
      app?.remove();
    });

    it('commits and rolls back with the app\'s rows; job:runall relays, then runs what was committed', async () => {
      await knex.transaction(async (trx) => {
        await trx('orders').insert({ ref: 'A1' });
        const one = await Job.dispatch('record', { tag: 'order-1' }).withTransaction(trx);
        expect(one.id).toMatch(/^outbox:[0-9a-f]{24}\.0$/);
        await Job.dispatchMany('record', [{ tag: 'bulk-1' }, { tag: 'bulk-2' }]).withTransaction(trx);
      });
      await knex.transaction(async (trx) => {
        await trx('orders').insert({ ref: 'A2' });
        await Job.dispatch('record', { tag: 'order-2' }).withTransaction(trx);
        throw new Error('the app rolls back');
      }).catch(() => undefined);
      expect(await knex('orders').pluck('ref')).toEqual(['A1']);
      expect((await status()).outbox).toBe(3);

      const run = await app.rakit(['job:runall', '--stop-when-empty']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain('Outbox: moved 3 committed jobs to the queues');
      expect(app.ranLog().sort()).toEqual(['bulk-1', 'bulk-2', 'order-1']);
      expect((await status()).outbox).toBe(0);
    }, 60_000);

    it('runs a job once when a relay died between its push and its delete and the next pushed it again', async () => {
      await knex.transaction(async (trx) => {
        await Job.dispatch('record', { tag: 'once' }).withTransaction(trx);
      });
      const dying = new OutboxRelay(knex, TABLE, {
        async pushMany(jobs) {
          await driver.pushMany(jobs);
          throw new Error('killed after its push');
        },
      }, silent);
      await expect(dying.relayOnce()).rejects.toThrow('killed after its push');
      expect(await knex(TABLE).count({ n: '*' }).first().then((r) => Number(r?.n))).toBe(1);
      expect(await new OutboxRelay(knex, TABLE, driver, silent).drain()).toBe(1);
      expect((await driver.stats()).find((s) => s.queue === 'default')?.ready).toBe(2);

      const run = await app.rakit(['job:runall', '--stop-when-empty']);
      expect(run.code, run.stderr).toBe(0);
      expect(ran('once')).toBe(1);
      expect(run.stderr).toContain('Job skipped: record (a copy of an outbox job another job already runs)');
    }, 60_000);

    // SQLite's own locking: the other databases lock rows, not the file.
    if (kind === 'sqlite') it('a relay step on SQLite holds the write lock from its start: an app committing meanwhile cannot fail it', async () => {
      await knex.transaction(async (trx) => {
        await Job.dispatch('record', { tag: 'locked' }).onQueue('locked').withTransaction(trx);
      });
      const other = new Database(path.join(app.dir, 'storage', 'app.sqlite'), { timeout: 0 });
      let appWrote = true;
      const relay = new OutboxRelay(knex, TABLE, {
        async pushMany(jobs) {
          // Between the relay's read and its delete, the app commits a row (or finds the lock held).
          try {
            other.prepare("INSERT INTO orders (ref) VALUES ('meanwhile')").run();
          } catch {
            appWrote = false;
          }
          return driver.pushMany(jobs);
        },
      }, silent);
      try {
        await expect(relay.relayOnce()).resolves.toBe(1);
        expect(appWrote).toBe(false); // it waits for the relay, not the other way round
      } finally {
        other.close();
      }
    }, 30_000);

    it('moves a committed job to the queue within milliseconds while the relay runs', async () => {
      const relay = new OutboxRelay(knex, TABLE, driver, silent);
      const stop = new AbortController();
      const running = relay.run(stop.signal);
      const lags: number[] = [];
      try {
        for (let i = 0; i < 40; i++) {
          const before = (await driver.stats()).find((s) => s.queue === 'lag')?.ready ?? 0;
          await knex.transaction(async (trx) => {
            await Job.dispatch('record', { tag: `lag-${i}` }).onQueue('lag').withTransaction(trx);
          });
          const committed = performance.now();
          while (((await driver.stats()).find((s) => s.queue === 'lag')?.ready ?? 0) === before) {
            if (performance.now() - committed > 5_000) throw new Error('the relay did not move the job within 5 s');
          }
          lags.push(performance.now() - committed);
        }
      } finally {
        stop.abort();
        await running;
      }
      lags.sort((a, b) => a - b);
      const p50 = lags[Math.floor(lags.length / 2)]!;
      const p99 = lags[Math.floor(lags.length * 0.99)]!;
      console.log(`outbox lag on ${kind}: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms over ${lags.length} commits`);
      // The figure is reported; the bound only catches a relay that waits far longer than its poll.
      expect(p99).toBeLessThan(1_000);
    }, 60_000);
  });
}

describe('the outbox, refused where it cannot serve', () => {
  it('withTransaction() on a store elsewhere without outbox: true says how to turn it on', async () => {
    const app = makeApp();
    try {
      const url = await requireRedis();
      await configure({ driver: 'redis', redis: url, prefix: uniqueName('ob'), database: `sqlite:${path.join(app.dir, 'storage', 'app.sqlite')}` }, { root: app.dir, logger: silent });
      const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: path.join(app.dir, 'storage', 'app.sqlite') }, useNullAsDefault: true });
      try {
        await expect(knex.transaction(async (trx) => { await Job.dispatch('record', { tag: 'x' }).withTransaction(trx); })).rejects.toThrow(/Set outbox: true in application\/config\/job\.ts/);
      } finally {
        await knex.destroy();
      }
    } finally {
      await closeRuntime();
      app.remove();
    }
  });
});
