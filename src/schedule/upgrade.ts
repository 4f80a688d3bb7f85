/**
 * The migration that `rakit migrate` runs by itself (it ships in the package; nothing is written
 * into migrations/): the scheduler's tables of earlier versions (`<table>_schedule_claims`,
 * `_locks`, `_runs`, made by `rakit schedule:table`) go away, and what users would miss moves
 * into the records the scheduler keeps now (store.ts), in `<table>_records`:
 *
 * - the run locks still held, with their owner and expiry: a run going on at the upgrade keeps
 *   its task from starting again until its lock lapses;
 * - each task's newest runs: `schedule:list`'s last run, the dashboard's runs, and `catchUp()`'s
 *   "was the missed tick run";
 * - the claims of the last hour (CLAIM_KEEP_MS): a tick taken just before the upgrade is not
 *   taken again just after it.
 *
 * What the new scheduler wrote before the migration ran wins over what is carried (runs are
 * merged). Rolling it back makes the three tables again, empty, where the earlier version's
 * migration that made them is still recorded as run (the carried records stay).
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { ShippedMigration } from '../drivers/database/migrations.ts';
import { CLAIMS, CLAIM_KEEP_MS, LOCKS, RUNS, claimId, lockBackstopMs, mergeRuns, recordId, type LockInfo, type RunRecord } from './store.ts';

export const scheduleTables = (table: string) => ({
  claims: `${table}_schedule_claims`,
  locks: `${table}_schedule_locks`,
  runs: `${table}_schedule_runs`,
});

/** The scheduler's tables of the jobs table `table` moved into its records, once per database. */
export function scheduleUpgrade(table: string): ShippedMigration {
  const t = scheduleTables(table);
  return {
    name: `rakit_20261207_move_${table}_schedule_tables_to_records`,
    migration: {
      async up(knex) {
        if (!(await knex.schema.hasTable(t.locks))) return; // never made: nothing to move
        if (await knex.schema.hasTable(`${table}_records`)) await carryOver(knex, table);
        for (const name of [t.runs, t.locks, t.claims]) await knex.schema.dropTableIfExists(name);
      },
      async down(knex) {
        // Made again only where the earlier version's migration that made them still counts as run.
        const ran = (await knex('knex_migrations').pluck('name')) as string[];
        const made = ran.some((name) => name.endsWith(`_create_${table}_schedule_tables`));
        if (made && !(await knex.schema.hasTable(t.locks))) await createTables(knex, table);
      },
    },
  };
}

type Millis = number | string;

async function carryOver(knex: Knex, table: string): Promise<void> {
  const t = scheduleTables(table);
  const records = `${table}_records`;
  const now = Date.now();
  /** Writes a record unless one is there (the new scheduler's; `merge` then says what to keep). */
  const put = async (namespace: string, id: string, value: string, expiresAt: number | null, merge?: (current: string) => string) => {
    const current = (await knex(records).where({ namespace, id }).first('value')) as { value: string } | undefined;
    const fields = { value, version: randomBytes(9).toString('base64url'), written_at: now, expires_at: expiresAt };
    if (!current) await knex(records).insert({ namespace, id, ...fields });
    else if (merge) await knex(records).where({ namespace, id }).update({ ...fields, value: merge(current.value) });
  };

  const locks = (await knex(t.locks).where('expires_at', '>', now).select('*')) as { name: string; owner: string; acquired_at: Millis; expires_at: Millis }[];
  for (const row of locks) {
    const lock: LockInfo = { name: row.name, owner: row.owner, acquiredAt: Number(row.acquired_at), expiresAt: Number(row.expires_at) };
    await put(LOCKS, recordId(lock.name), JSON.stringify(lock), now + lockBackstopMs(lock.expiresAt, now));
  }

  const claims = (await knex(t.claims).where('claimed_at', '>', now - CLAIM_KEEP_MS).select('*')) as { task: string; tick: Millis; owner: string; claimed_at: Millis }[];
  for (const row of claims) {
    const claim = { task: row.task, tick: Number(row.tick), owner: row.owner, claimedAt: Number(row.claimed_at) };
    await put(CLAIMS, claimId(claim.task, claim.tick), JSON.stringify(claim), claim.claimedAt + CLAIM_KEEP_MS);
  }

  const byTask = new Map<string, RunRecord[]>();
  const rows = (await knex(t.runs).orderBy('started_at', 'desc').select('*')) as Record<string, Millis | null>[];
  for (const r of rows) {
    const run: RunRecord = {
      id: String(r.id), task: String(r.task), tick: Number(r.tick), startedAt: Number(r.started_at),
      finishedAt: r.finished_at === null ? null : Number(r.finished_at), outcome: r.outcome as RunRecord['outcome'],
      durationMs: r.duration_ms === null ? null : Number(r.duration_ms), output: String(r.output), host: String(r.host),
    };
    byTask.set(run.task, [...(byTask.get(run.task) ?? []), run]);
  }
  for (const [task, runs] of byTask) {
    const kept = mergeRuns(null, runs);
    await put(RUNS, recordId(task), JSON.stringify(kept), null, (current) => JSON.stringify(mergeRuns(current, kept)));
  }
}

/** The tables as `rakit schedule:table` made them (times in epoch ms, BIGINT). */
async function createTables(knex: Knex, table: string): Promise<void> {
  const t = scheduleTables(table);
  await knex.schema.createTable(t.claims, (c) => {
    c.string('task', 191).notNullable();
    c.bigInteger('tick').notNullable();
    c.string('owner', 64).notNullable();
    c.bigInteger('claimed_at').notNullable();
    c.primary(['task', 'tick']);
    c.index(['claimed_at'], `${t.claims}_claimed_at`);
  });
  await knex.schema.createTable(t.locks, (c) => {
    c.string('name', 191).primary();
    c.string('owner', 64).notNullable();
    c.bigInteger('acquired_at').notNullable();
    c.bigInteger('expires_at').notNullable();
  });
  await knex.schema.createTable(t.runs, (c) => {
    c.string('id', 64).primary();
    c.string('task', 191).notNullable();
    c.bigInteger('tick').notNullable();
    c.bigInteger('started_at').notNullable();
    c.bigInteger('finished_at').nullable();
    c.string('outcome', 16).notNullable();
    c.integer('duration_ms').nullable();
    c.text('output').notNullable();
    c.string('host', 191).notNullable();
    c.index(['task', 'started_at'], `${t.runs}_task_started`);
  });
}
