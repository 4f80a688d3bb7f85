/**
 * The knex migration `rakit schedule:table` writes: the scheduler's claims, run locks and run
 * history, named after the jobs table (`<table>_schedule_claims`, `_locks`, `_runs`).
 */
import { SOURCE_EXTENSION, type AppLanguage } from '../infra/app-files.ts';
import { DECLARE } from '../drivers/database/migrations.ts';

export const scheduleTables = (table: string) => ({
  claims: `${table}_schedule_claims`,
  locks: `${table}_schedule_locks`,
  runs: `${table}_schedule_runs`,
});

export const scheduleMigrationName = (table: string, stamp: string, language: AppLanguage = 'ts') =>
  `${stamp}_create_${table}_schedule_tables${SOURCE_EXTENSION[language]}`;

/** The migration, in the app's language (TypeScript, ES modules or CommonJS) as `job:table` writes its own. */
export function scheduleMigration(table: string, language: AppLanguage = 'ts'): string {
  const t = scheduleTables(table);
  const end = language === 'cjs' ? '};' : '}';
  return `${language === 'ts' ? "import type { Knex } from 'knex';\n\n" : ''}\
// Written by \`rakit schedule:table\`: the scheduler's claims, run locks and run history.
// Times are epoch milliseconds (UTC) in BIGINT columns, the same on SQLite, MySQL and PostgreSQL.

${DECLARE[language]('up')}
  // One row per (task, tick) a host took: the primary key lets exactly one host take each tick.
  await knex.schema.createTable('${t.claims}', (t) => {
    t.string('task', 191).notNullable();
    t.bigInteger('tick').notNullable();
    t.string('owner', 64).notNullable();
    t.bigInteger('claimed_at').notNullable();
    t.primary(['task', 'tick']);
    t.index(['claimed_at'], '${t.claims}_claimed_at');
  });
  // Run locks (withoutOverlapping): held by one run, renewed while it runs, lapsing at expires_at.
  await knex.schema.createTable('${t.locks}', (t) => {
    t.string('name', 191).primary();
    t.string('owner', 64).notNullable();
    t.bigInteger('acquired_at').notNullable();
    t.bigInteger('expires_at').notNullable();
  });
  // The newest runs of each task (start, end, outcome, duration, output tail).
  await knex.schema.createTable('${t.runs}', (t) => {
    t.string('id', 64).primary();
    t.string('task', 191).notNullable();
    t.bigInteger('tick').notNullable();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('finished_at').nullable();
    t.string('outcome', 16).notNullable();
    t.integer('duration_ms').nullable();
    t.text('output').notNullable();
    t.string('host', 191).notNullable();
    t.index(['task', 'started_at'], '${t.runs}_task_started');
  });
${end}

${DECLARE[language]('down')}
  await knex.schema.dropTableIfExists('${t.runs}');
  await knex.schema.dropTableIfExists('${t.locks}');
  await knex.schema.dropTableIfExists('${t.claims}');
${end}
`;
}
