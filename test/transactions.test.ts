/**
 * `.withTransaction(trx)` and `.afterCommit(trx)` on each SQL store (SQLite, MariaDB,
 * PostgreSQL): a dispatch, dispatchMany, a chain and a batch written in the app's knex
 * transaction commit and roll back with it; the pg client, mysql2 connection and better-sqlite3
 * database of an app, and an ORM's one-function adapter (TypeORM), do the same; an overlap key
 * held by an uncommitted transaction makes a second one wait, then skip; a transaction on another
 * database, and a store that is not SQL, are refused naming the outbox.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import knexFactory, { type Knex } from 'knex';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AfterCommit } from '../src/api/in-transaction.ts';
import { Jobable } from '../src/api/jobable.ts';
import { Job } from '../src/api/job-facade.ts';
import { closeRuntime, configure } from '../src/api/runtime.ts';
import { UsageError } from '../src/infra/errors.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { DATABASES, scratchDatabase } from './helpers/servers.ts';

class SendEmail extends Jobable<{ to: string }> {
  async run() {}
}

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const kind of DATABASES) {
  describe(`in the app's transaction on ${kind}`, () => {
    let db: TestDatabase;
    const jobs = async () => (await db.knex(db.table).select('name', 'payloads', 'scheduled_at').orderBy('id')) as { name: string; payloads: string; scheduled_at: number | string }[];
    const batches = async () => db.knex(`${db.table}_records`).where('namespace', 'batch').count({ n: '*' }).first().then((r) => Number(r?.n));
    const orders = () => `${db.table}_orders`;

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      await db.knex.schema.createTable(orders(), (t) => t.string('ref', 32));
      await configure({ database: db.url, table: db.table, failed_table: db.failedTable }, { root: db.dir, logger: silent });
    });
    afterAll(async () => {
      await closeRuntime();
      await db.knex.schema.dropTableIfExists(orders());
      await db.drop();
    });
    beforeEach(async () => {
      await db.knex(db.table).delete();
      await db.knex(`${db.table}_records`).delete();
      await db.knex(orders()).delete();
    });

    it('a knex transaction that commits stores the job with the app\'s row; one that rolls back leaves neither', async () => {
      const result = await db.knex.transaction(async (trx) => {
        await trx(orders()).insert({ ref: 'A1' });
        return SendEmail.dispatch({ to: 'a@example.com' }).withTransaction(trx);
      });
      expect(result.id).toMatch(/^\d+$/);
      expect((await jobs()).map((j) => j.name)).toEqual(['send-email']);

      await expect(db.knex.transaction(async (trx) => {
        await trx(orders()).insert({ ref: 'B1' });
        await SendEmail.dispatch({ to: 'b@example.com' }).onQueue('mail').delay(5).withTransaction(trx);
        await SendEmail.dispatchMany([{ to: 'c@example.com' }, { to: 'd@example.com' }]).withTransaction(trx);
        await Job.chain([new SendEmail({ to: 'e@example.com' }), new SendEmail({ to: 'f@example.com' })]).withTransaction(trx).dispatch();
        await Job.batch([new SendEmail({ to: 'g@example.com' })]).then(new SendEmail({ to: 'h@example.com' })).withTransaction(trx).dispatch();
        expect(await trx(db.table).count({ n: '*' }).first().then((r) => Number(r?.n))).toBe(8);
        throw new Error('rolled back');
      })).rejects.toThrow('rolled back');
      expect((await jobs()).length).toBe(1);
      expect(await batches()).toBe(0);
      expect(await db.knex(orders()).pluck('ref')).toEqual(['A1']);
    });

    it('dispatchMany, a chain and a batch commit whole', async () => {
      const [many, chain, batch] = await db.knex.transaction(async (trx) => [
        await SendEmail.dispatchMany([{ to: '1' }, { to: '2' }]).withTransaction(trx),
        await Job.chain([new SendEmail({ to: '3' }), new SendEmail({ to: '4' })]).withTransaction(trx).dispatch(),
        await Job.batch([new SendEmail({ to: '5' }), new SendEmail({ to: '6' })]).finally(new SendEmail({ to: '7' })).withTransaction(trx).dispatch(),
      ] as const);
      expect(many.map((r) => r.id)).toHaveLength(2);
      expect(chain.jobs).toHaveLength(2);
      expect(batch.totalJobs).toBe(2);
      expect((await jobs()).length).toBe(2 + 2 + 3);
      expect(await batches()).toBe(1);
    });

    it('an empty batch in a transaction stores its then and finally jobs due, not its catch job', async () => {
      await db.knex.transaction(async (trx) => {
        await Job.batch([]).then(new SendEmail({ to: 't' })).catch(new SendEmail({ to: 'c' })).finally(new SendEmail({ to: 'f' })).withTransaction(trx).dispatch();
      });
      const stored = await jobs();
      expect(stored.map((j) => (JSON.parse(j.payloads) as { to: string }).to).sort()).toEqual(['f', 't']);
      expect(stored.every((j) => Number(j.scheduled_at) <= Date.now())).toBe(true);
    });

    it('an overlap key held by an uncommitted transaction makes the second one wait, then skip: never both stored', async () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let first: unknown;
      const a = db.knex.transaction(async (trx) => {
        first = await SendEmail.dispatch({ to: 'same' }).withoutOverlapping().withTransaction(trx);
        await held;
      });
      while (first === undefined) await sleep(10);
      let second: { skipped?: string } | undefined;
      const b = db.knex.transaction(async (trx) => {
        second = await SendEmail.dispatch({ to: 'same' }).withoutOverlapping().withTransaction(trx);
      });
      await sleep(300);
      expect(second).toBeUndefined();
      release();
      await Promise.all([a, b]);
      expect(second?.skipped).toBe('overlapping');
      expect((await jobs()).length).toBe(1);
    });

    it('when the holder of an overlap key rolls back, the transaction that waited stores its job', async () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let first: unknown;
      const a = db.knex.transaction(async (trx) => {
        first = await SendEmail.dispatch({ to: 'same' }).withoutOverlapping().withTransaction(trx);
        await held;
        throw new Error('rolled back');
      }).catch(() => undefined);
      while (first === undefined) await sleep(10);
      let second: { id?: string } | undefined;
      const b = db.knex.transaction(async (trx) => {
        await trx(orders()).insert({ ref: 'B' });
        second = await SendEmail.dispatch({ to: 'same' }).withoutOverlapping().afterCommit(trx).then(() => SendEmail.dispatch({ to: 'same' }).withoutOverlapping().withTransaction(trx));
      });
      await sleep(200);
      release();
      await Promise.all([a, b]);
      expect(second?.id).toMatch(/^\d+$/);
      await sleep(200);
      // The after-commit dispatch of the same key came after the commit: skipped, the key being held.
      expect((await jobs()).length).toBe(1);
    });

    it('a transaction on another database is refused, naming the outbox', async () => {
      const other = await otherDatabase(kind, db.table);
      try {
        await expect(other.knex.transaction(async (trx) => await SendEmail.dispatch({ to: 'x' }).withTransaction(trx))).rejects.toThrow(/not on the job store's database[\s\S]*outbox/);
      } finally {
        await other.drop();
      }
      expect(await jobs()).toEqual([]);
    });

    it('afterCommit(trx) stores the job once the knex transaction commits, and never when it rolls back', async () => {
      await db.knex.transaction(async (trx) => {
        const queued = await SendEmail.dispatch({ to: 'later' }).afterCommit(trx);
        expect(queued).toMatchObject({ afterCommit: true, name: 'send-email', jobs: 1 });
        await sleep(50);
        expect(await trx(db.table).count({ n: '*' }).first().then((r) => Number(r?.n))).toBe(0);
      });
      for (let i = 0; i < 100 && (await jobs()).length === 0; i++) await sleep(20);
      expect((await jobs()).length).toBe(1);
      await db.knex.transaction(async (trx) => {
        await SendEmail.dispatchMany([{ to: 'x' }, { to: 'y' }]).afterCommit(trx);
        await trx.rollback();
      }).catch(() => undefined);
      await db.knex.transaction(async (trx) => {
        await SendEmail.dispatch({ to: 'z' }).afterCommit(trx);
        throw new Error('rolled back');
      }).catch(() => undefined);
      await sleep(200);
      expect((await jobs()).length).toBe(1);
      await expect(db.knex.transaction(async (trx) => trx).then((ended) => SendEmail.dispatch({ to: 'late' }).afterCommit(ended as Knex.Transaction))).rejects.toThrow(/already ended/);
    });

    it('closing the runtime right after the commit still stores the job that waited for it', async () => {
      await db.knex.transaction(async (trx) => {
        await SendEmail.dispatch({ to: 'close' }).afterCommit(trx);
      });
      await closeRuntime();
      expect((await jobs()).length).toBe(1);
      await configure({ database: db.url, table: db.table, failed_table: db.failedTable }, { root: db.dir, logger: silent });
    });

    it('an AfterCommit the app commits itself stores what waited on it; rolled back, nothing', async () => {
      const later = new AfterCommit();
      await SendEmail.dispatch({ to: '1' }).afterCommit(later);
      await SendEmail.dispatchMany([{ to: '2' }]).afterCommit(later);
      expect(await jobs()).toEqual([]);
      await later.commit();
      expect((await jobs()).length).toBe(2);
      const dropped = new AfterCommit();
      await SendEmail.dispatch({ to: '3' }).afterCommit(dropped);
      dropped.rollback();
      expect((await jobs()).length).toBe(2);
      await expect(SendEmail.dispatch({ to: '4' }).afterCommit(dropped)).rejects.toThrow(/already rolled back/);
    });

    it('an ORM through its one-function adapter (TypeORM: manager.query)', async () => {
      const source = new DataSource(typeormOptions(kind, db));
      await source.initialize();
      try {
        await source.transaction(async (manager) => {
          await SendEmail.dispatch({ to: 'orm' }).withTransaction((sql, params) => manager.query(sql, params));
          await SendEmail.dispatch({ to: 'orm' }).withoutOverlapping().withTransaction((sql, params) => manager.query(sql, params));
          const again = await SendEmail.dispatch({ to: 'orm' }).withoutOverlapping().withTransaction((sql, params) => manager.query(sql, params));
          expect(again.skipped).toBe('overlapping');
        });
        expect((await jobs()).length).toBe(2);
        await expect(source.transaction(async (manager) => {
          await SendEmail.dispatchMany([{ to: 'a' }, { to: 'b' }]).withTransaction((sql, params) => manager.query(sql, params));
          throw new Error('rolled back');
        })).rejects.toThrow('rolled back');
        expect((await jobs()).length).toBe(2);
      } finally {
        await source.destroy();
      }
    });

    if (kind === 'pg') {
      it('a pg client inside BEGIN', async () => {
        const pg = (await import('pg')).default;
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          await client.query('BEGIN');
          await SendEmail.dispatch({ to: 'pg' }).withTransaction(client);
          await client.query('ROLLBACK');
          expect(await jobs()).toEqual([]);
          await client.query('BEGIN');
          await SendEmail.dispatchMany([{ to: 'pg1' }, { to: 'pg2' }]).withTransaction(client);
          await client.query('COMMIT');
          expect((await jobs()).length).toBe(2);
          const pool = new pg.Pool({ connectionString: db.url });
          await expect(SendEmail.dispatch({ to: 'pool' }).withTransaction(pool)).rejects.toThrow(/pg Pool.*pool\.connect/);
          await pool.end();
        } finally {
          await client.end();
        }
      });
    }

    if (kind === 'mysql') {
      it('a mysql2 connection inside a transaction', async () => {
        const mysql = await import('mysql2/promise');
        const url = new URL(db.url);
        const connection = await mysql.createConnection({ host: url.hostname, port: Number(url.port), user: url.username, database: url.pathname.slice(1) });
        try {
          await connection.beginTransaction();
          await SendEmail.dispatch({ to: 'my' }).withTransaction(connection);
          await connection.rollback();
          expect(await jobs()).toEqual([]);
          await connection.beginTransaction();
          const results = await SendEmail.dispatchMany([{ to: 'my1' }, { to: 'my2' }]).withTransaction(connection);
          await connection.commit();
          expect((await jobs()).length).toBe(2);
          expect(Number(results[1]!.id)).toBe(Number(results[0]!.id) + 1);
        } finally {
          await connection.end();
        }
      });
    }

    if (kind === 'sqlite') {
      it('a better-sqlite3 database inside BEGIN; outside a transaction (as by the time db.transaction() awaits) it is refused', async () => {
        const sqlite = new Database(db.url.slice('sqlite:'.length));
        sqlite.pragma('busy_timeout = 10000');
        try {
          sqlite.exec('BEGIN');
          await SendEmail.dispatch({ to: 's' }).withTransaction(sqlite);
          sqlite.exec('ROLLBACK');
          expect(await jobs()).toEqual([]);
          sqlite.exec('BEGIN');
          await SendEmail.dispatch({ to: 's' }).withTransaction(sqlite);
          sqlite.exec('COMMIT');
          expect((await jobs()).length).toBe(1);
          await expect(SendEmail.dispatch({ to: 's' }).withTransaction(sqlite)).rejects.toThrow(/not inside a transaction[\s\S]*BEGIN/);
        } finally {
          sqlite.close();
        }
      });

      it('a knex instance instead of its transaction, and a mismatched dialect, are refused', async () => {
        await expect(SendEmail.dispatch({ to: 'k' }).withTransaction(db.knex)).rejects.toThrow(/knex instance/);
        await expect(SendEmail.dispatch({ to: 'k' }).withTransaction({})).rejects.toThrow(UsageError);
      });
    }
  });
}

describe('a store that is not the app\'s SQL database', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-tx-'));
    await configure({ driver: 'file', file_path: path.join(dir, 'jobs') }, { root: dir, logger: silent });
  });
  afterAll(async () => {
    await closeRuntime();
    rmSync(dir, { recursive: true, force: true });
  });

  it('without outbox: true, refuses withTransaction loudly, naming the outbox and afterCommit', async () => {
    const app = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
    try {
      await expect(app.transaction(async (trx) => await SendEmail.dispatch({ to: 'x' }).withTransaction(trx))).rejects.toThrow(/file[\s\S]*Set outbox: true[\s\S]*afterCommit/);
      await expect(app.transaction(async (trx) => await Job.batch([new SendEmail({ to: 'x' })]).withTransaction(trx).dispatch())).rejects.toThrow(/outbox/);
    } finally {
      await app.destroy();
    }
  });

  it('afterCommit works there: the job is stored after the app\'s commit', async () => {
    const later = new AfterCommit();
    await SendEmail.dispatch({ to: 'x' }).afterCommit(later);
    await later.commit();
    await expect(SendEmail.dispatch({ to: 'x' }).withTransaction(later).afterCommit(later)).rejects.toThrow(/not both/);
  });
});

/** Another database of the same kind, with a table of the same name: not where the workers look. */
async function otherDatabase(kind: TestDatabase['kind'], table: string): Promise<{ knex: Knex; drop(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-other-'));
    const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: path.join(dir, 'other.sqlite') }, useNullAsDefault: true });
    await knex.schema.createTable(table, (t) => t.increments('id'));
    return { knex, drop: async () => { await knex.destroy(); rmSync(dir, { recursive: true, force: true }); } };
  }
  const scratch = await scratchDatabase(kind);
  const knex = knexFactory({ client: kind === 'mysql' ? 'mysql2' : 'pg', connection: scratch.url });
  await knex.schema.createTable(table, (t) => t.increments('id'));
  return { knex, drop: async () => { await knex.destroy(); await scratch.drop(); } };
}

function typeormOptions(kind: TestDatabase['kind'], db: TestDatabase): ConstructorParameters<typeof DataSource>[0] {
  if (kind === 'sqlite') return { type: 'better-sqlite3', database: db.url.slice('sqlite:'.length) };
  return { type: kind === 'pg' ? 'postgres' : 'mysql', url: db.url };
}
