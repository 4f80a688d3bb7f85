/**
 * The outbox table, in the app's database (`database`): one row per dispatch written in an app's
 * transaction while the job store is elsewhere. `id` orders the rows (the relay takes them in
 * that order); `uid` names the row across stores, so a job relayed twice runs once
 * (outbox-runs.ts); `jobs` holds the dispatch's jobs in order, `n` how many.
 */
import { DECLARE } from '../../drivers/database/migrations.ts';
import { SOURCE_EXTENSION, type AppLanguage } from '../../infra/app-files.ts';

/** What one outbox row holds of each job: the job as dispatch hands it to a driver. */
export interface OutboxJob {
  name: string;
  queue: string;
  payload: string;
  scheduledAt: number;
  overlapKey: string | null;
}

/** The migration `rakit job:table` writes when `outbox: true`. */
export function outboxMigration(table: string, language: AppLanguage = 'ts'): string {
  const end = language === 'cjs' ? '};' : '}';
  return `${language === 'ts' ? "import type { Knex } from 'knex';\n\n" : ''}\
// Written by \`rakit job:table\` (outbox: true): jobs dispatched in the app's transactions, moved to
// the job store by the relay \`rakit job:runall\` runs (or \`rakit job:relay\`).

${DECLARE[language]('up')}
  await knex.schema.createTable('${table}', (t) => {
    t.bigIncrements('id');
    t.string('uid', 32).notNullable();
    t.text('jobs', 'mediumtext').notNullable();
    t.integer('n').notNullable();
    t.bigInteger('created_at').notNullable();
  });
${end}

${DECLARE[language]('down')}
  await knex.schema.dropTableIfExists('${table}');
${end}
`;
}

export function outboxMigrationName(table: string, stamp: string, language: AppLanguage = 'ts'): string {
  return `${stamp}_create_${table}_table${SOURCE_EXTENSION[language]}`;
}
