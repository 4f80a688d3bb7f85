/**
 * Migrations: the knex migration `rakit job:table` writes (self-contained, with the configured
 * table names), and the migrator behind `rakit migrate` that imports the app's migration files,
 * then runs the migrations the package ships to move an earlier version's tables.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { SOURCE_EXTENSION, importModule, type AppLanguage } from '../../infra/app-files.ts';

export const MIGRATIONS_DIR = 'migrations';

/** How a migration function is declared in each language of app. */
export const DECLARE = {
  ts: (name: string) => `export async function ${name}(knex: Knex): Promise<void> {`,
  esm: (name: string) => `/** @param {import('knex').Knex} knex */\nexport async function ${name}(knex) {`,
  cjs: (name: string) => `/** @param {import('knex').Knex} knex */\nexports.${name} = async function ${name}(knex) {`,
};

/** The migration `rakit job:table` writes, in the app's language (TypeScript, ES modules or CommonJS). */
export function jobTablesMigration(table: string, failedTable: string, language: AppLanguage = 'ts'): string {
  const end = language === 'cjs' ? '};' : '}';
  return `${language === 'ts' ? "import type { Knex } from 'knex';\n\n" : ''}\
// Written by \`rakit job:table\`: the tables of rakit jobs (jobs, failed jobs, records).
// Times are epoch milliseconds (UTC) in BIGINT columns, the same on SQLite, MySQL and PostgreSQL.

${DECLARE[language]('up')}
  await knex.schema.createTable('${table}', (t) => {
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
    t.index(['queue', 'scheduled_at', 'id'], '${table}_queue_due');
    t.index(['scheduled_at', 'id'], '${table}_due');
  });
  await knex.schema.createTable('${failedTable}', (t) => {
    t.bigIncrements('id');
    t.string('job_id', 64).notNullable();
    t.string('name', 191).notNullable();
    t.string('queue', 64).notNullable();
    t.text('payloads', 'mediumtext').notNullable();
    t.text('exception', 'mediumtext').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('overlap_key', 191).nullable();
    t.bigInteger('failed_at').notNullable();
    // Newest first, of every queue or of one (job:failed, the dashboard, job:retry --queue).
    t.index(['failed_at', 'id'], '${failedTable}_failed_at');
    t.index(['queue', 'failed_at', 'id'], '${failedTable}_queue_failed');
  });
  // Small records updated by compare-and-set: paused queues, the restart signal, workers, metrics,
  // batches, rate and concurrency limits, job progress.
  // Ids compare byte for byte (MySQL's default collation would make "A" and "a" one record).
  const mysql = String(knex.client.config.client).startsWith('mysql');
  await knex.schema.createTable('${table}_records', (t) => {
    t.string('namespace', 32).notNullable();
    const id = t.string('id', 191).notNullable();
    if (mysql) id.collate('utf8mb4_bin');
    t.text('value', 'mediumtext').notNullable();
    t.string('version', 16).notNullable();
    t.bigInteger('written_at').notNullable();
    // Null: kept until deleted.
    t.bigInteger('expires_at').nullable();
    t.primary(['namespace', 'id'], '${table}_records_pkey');
    t.index(['namespace', 'written_at'], '${table}_records_written');
  });
${end}

${DECLARE[language]('down')}
  await knex.schema.dropTableIfExists('${table}_records');
  await knex.schema.dropTableIfExists('${failedTable}');
  await knex.schema.dropTableIfExists('${table}');
${end}
`;
}

/** File name of the job tables migration for these table names. */
export function jobTablesMigrationName(table: string, stamp: string, language: AppLanguage = 'ts'): string {
  return `${stamp}_create_${table}_table${SOURCE_EXTENSION[language]}`;
}

const MIGRATION_FILE = /\.(ts|mts|cts|js|mjs|cjs)$/;

/** A migration the package ships: `rakit migrate` runs it after the app's own, once per database. */
export interface ShippedMigration {
  name: string;
  migration: Knex.Migration;
}

/**
 * A knex migration source over `dir`, importing each file (TypeScript included) in name order,
 * then `shipped` in their order (after the app's files, so the tables they change exist).
 */
export function migrationSource(dir: string, shipped: ShippedMigration[] = []): Knex.MigrationSource<string> {
  const byName = new Map(shipped.map((s) => [s.name, s.migration]));
  return {
    async getMigrations() {
      const files = existsSync(dir) ? readdirSync(dir).filter((f) => MIGRATION_FILE.test(f) && !f.endsWith('.d.ts')).sort() : [];
      return [...files, ...byName.keys()];
    },
    getMigrationName: (file) => (byName.has(file) ? file : file.replace(MIGRATION_FILE, '')),
    async getMigration(file) {
      return byName.get(file) ?? ((await importModule(path.join(dir, file))) as unknown as Knex.Migration);
    },
  };
}
