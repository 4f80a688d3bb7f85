/**
 * How `job:table` writes its migration into the app's migrations/ in the app's language, unless
 * the migration is there already or its tables exist in the database.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { appLanguage, type AppLanguage } from '../../infra/app-files.ts';
import type { JobConfig } from '../../infra/config.ts';
import { MIGRATIONS_DIR } from '../../drivers/database/migrations.ts';

export interface MigrationToWrite {
  /** What it creates, for messages: `The migration for "rakit_jobs"`, `The scheduler's migration`. */
  label: string;
  /** A part of the file name that only this migration has. */
  marker: string;
  tables: string[];
  fileName(stamp: string, language: AppLanguage): string;
  body(language: AppLanguage): string;
}

export async function writeMigrationOnce(config: JobConfig, migration: MigrationToWrite): Promise<void> {
  const dir = path.join(config.root, MIGRATIONS_DIR);
  const existing = existsSync(dir) ? readdirSync(dir).find((f) => f.includes(migration.marker)) : undefined;
  if (existing) {
    console.log(`${migration.label} already exists: ${MIGRATIONS_DIR}/${existing} (run rakit migrate).`);
    return;
  }
  // knex loads when a migration is written, not with the command's definition (`rakit --help`).
  const { createKnex } = await import('../../drivers/database/database-connection.ts');
  const knex = createKnex(config.database, config.root);
  try {
    const present = await Promise.all(migration.tables.map((t) => knex.schema.hasTable(t))).catch(() => [false]);
    if (present.some(Boolean)) {
      console.log(`The tables (${migration.tables.join(', ')}) already exist in the database; nothing to write.`);
      return;
    }
  } finally {
    await knex.destroy();
  }
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const language = appLanguage(config.root, config.source);
  const file = path.join(dir, migration.fileName(stamp, language));
  writeFileSync(file, migration.body(language), { flag: 'wx' });
  console.log(`Created ${path.relative(config.root, file)} — now run: rakit migrate`);
}
