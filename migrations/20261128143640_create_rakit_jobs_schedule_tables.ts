import type { Knex } from 'knex';

// Written by `rakit schedule:table`: the scheduler's claims, run locks and run history.
// Times are epoch milliseconds (UTC) in BIGINT columns, the same on SQLite, MySQL and PostgreSQL.

export async function up(knex: Knex): Promise<void> {
  // One row per (task, tick) a host took: the primary key lets exactly one host take each tick.
  await knex.schema.createTable('rakit_jobs_schedule_claims', (t) => {
    t.string('task', 191).notNullable();
    t.bigInteger('tick').notNullable();
    t.string('owner', 64).notNullable();
    t.bigInteger('claimed_at').notNullable();
    t.primary(['task', 'tick']);
    t.index(['claimed_at'], 'rakit_jobs_schedule_claims_claimed_at');
  });
  // Run locks (withoutOverlapping): held by one run, renewed while it runs, lapsing at expires_at.
  await knex.schema.createTable('rakit_jobs_schedule_locks', (t) => {
    t.string('name', 191).primary();
    t.string('owner', 64).notNullable();
    t.bigInteger('acquired_at').notNullable();
    t.bigInteger('expires_at').notNullable();
  });
  // The newest runs of each task (start, end, outcome, duration, output tail).
  await knex.schema.createTable('rakit_jobs_schedule_runs', (t) => {
    t.string('id', 64).primary();
    t.string('task', 191).notNullable();
    t.bigInteger('tick').notNullable();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('finished_at').nullable();
    t.string('outcome', 16).notNullable();
    t.integer('duration_ms').nullable();
    t.text('output').notNullable();
    t.string('host', 191).notNullable();
    t.index(['task', 'started_at'], 'rakit_jobs_schedule_runs_task_started');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('rakit_jobs_schedule_runs');
  await knex.schema.dropTableIfExists('rakit_jobs_schedule_locks');
  await knex.schema.dropTableIfExists('rakit_jobs_schedule_claims');
}
