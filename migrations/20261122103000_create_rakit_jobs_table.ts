import type { Knex } from 'knex';

// Written by `rakit job:table`: the tables of rakit jobs (jobs, failed jobs, signals, paused queues,
// workers, metrics, records).
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
  // Paused queues: workers claim nothing from them (`rakit job:pause`, the dashboard).
  await knex.schema.createTable('rakit_jobs_paused', (t) => {
    t.string('queue', 64).primary();
    t.bigInteger('paused_at').notNullable();
  });
  // Worker processes, live and recently stopped, as their heartbeats say (the dashboard's Workers page).
  await knex.schema.createTable('rakit_jobs_workers', (t) => {
    t.string('id', 191).primary();
    t.string('host', 191).notNullable();
    t.integer('pid').notNullable();
    // JSON: the queues it takes from (null: every queue), and the jobs it is running.
    t.text('queues').nullable();
    t.text('running').notNullable();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('beat_at').notNullable();
    t.bigInteger('done').notNullable().defaultTo(0);
    t.bigInteger('failed').notNullable().defaultTo(0);
    // Set when it stopped, with why (null while live).
    t.bigInteger('stopped_at').nullable();
    t.string('end', 16).nullable();
    t.index(['stopped_at'], 'rakit_jobs_workers_stopped');
  });
  // Per-minute metrics per queue and job name (minute 0 holds the all-time totals): counters only,
  // so writers add to them; b0..b14 count attempts per runtime bucket.
  await knex.schema.createTable('rakit_jobs_metrics', (t) => {
    t.bigInteger('minute').notNullable();
    t.string('queue', 64).notNullable();
    t.string('name', 191).notNullable();
    for (const counter of ['done', 'failed', 'retried', 'runtime_ms', 'wait_ms']) t.bigInteger(counter).notNullable().defaultTo(0);
    for (let b = 0; b < 15; b++) t.bigInteger(`b${b}`).notNullable().defaultTo(0);
    t.primary(['minute', 'queue', 'name'], 'rakit_jobs_metrics_pkey');
  });
  // Small records updated by compare-and-set: batches, rate and concurrency limits, job progress.
  // Ids compare byte for byte (MySQL's default collation would make "A" and "a" one record).
  const mysql = String(knex.client.config.client).startsWith('mysql');
  await knex.schema.createTable('rakit_jobs_records', (t) => {
    t.string('namespace', 32).notNullable();
    const id = t.string('id', 191).notNullable();
    if (mysql) id.collate('utf8mb4_bin');
    t.text('value', 'mediumtext').notNullable();
    t.string('version', 16).notNullable();
    t.bigInteger('written_at').notNullable();
    // Null: kept until deleted.
    t.bigInteger('expires_at').nullable();
    t.primary(['namespace', 'id'], 'rakit_jobs_records_pkey');
    t.index(['namespace', 'written_at'], 'rakit_jobs_records_written');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('rakit_jobs_records');
  await knex.schema.dropTableIfExists('rakit_jobs_metrics');
  await knex.schema.dropTableIfExists('rakit_jobs_workers');
  await knex.schema.dropTableIfExists('rakit_jobs_paused');
  await knex.schema.dropTableIfExists('rakit_jobs_signals');
  await knex.schema.dropTableIfExists('rakit_failed_jobs');
  await knex.schema.dropTableIfExists('rakit_jobs');
}
