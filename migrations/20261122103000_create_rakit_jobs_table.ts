import type { Knex } from 'knex';

// Written by `rakit job:table`: the jobs table, the failed-jobs table and the signals table of rakit jobs.
// Times are epoch milliseconds (UTC) in BIGINT columns, the same on SQLite, MySQL and PostgreSQL.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rakit_jobs', (t) => {
    t.bigIncrements('id');
    t.string('name', 191).notNullable();
    t.string('queue', 64).notNullable().defaultTo('default');
    t.text('payloads', 'mediumtext').notNullable();
    t.boolean('without_overlapping').notNullable().defaultTo(false);
    // Held while the job is pending or running; the unique index makes withoutOverlapping atomic.
    t.string('overlap_key', 191).nullable().unique();
    // Attempts so far, counted when a worker claims the job.
    t.integer('attempts').notNullable().defaultTo(0);
    // When the job is due (epoch ms).
    t.bigInteger('scheduled_at').notNullable();
    // Lease end while a worker holds the job (epoch ms); after it the job is due again.
    t.bigInteger('reserved_until').nullable();
    // The claim token of the worker holding the job.
    t.string('reserved_by', 64).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['queue', 'scheduled_at', 'id'], 'rakit_jobs_queue_due');
    t.index(['scheduled_at', 'id'], 'rakit_jobs_due');
  });
  await knex.schema.createTable('rakit_failed_jobs', (t) => {
    t.bigIncrements('id');
    t.string('job_id', 64).notNullable();
    t.string('name', 191).notNullable();
    t.string('queue', 64).notNullable();
    t.text('payloads', 'mediumtext').notNullable();
    t.text('exception', 'mediumtext').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('overlap_key', 191).nullable();
    t.bigInteger('failed_at').notNullable();
    t.index(['failed_at'], 'rakit_failed_jobs_failed_at');
  });
  // Signals to every worker sharing these tables: `rakit job:restart` stores its time here.
  await knex.schema.createTable('rakit_jobs_signals', (t) => {
    t.string('name', 64).primary();
    t.bigInteger('value').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('rakit_jobs_signals');
  await knex.schema.dropTableIfExists('rakit_failed_jobs');
  await knex.schema.dropTableIfExists('rakit_jobs');
}
