import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { appLanguage } from '../core/app-files.ts';
import { loadConfig } from '../core/config.ts';
import { createKnex } from '../core/drivers/database-connection.ts';
import { MIGRATIONS_DIR, jobTablesMigration, jobTablesMigrationName } from '../core/migrations.ts';

export function jobTableCommand(): Command {
  return new Command('job:table')
    .description('write the migration that creates the jobs and failed-jobs tables (then run rakit migrate)')
    .action(async () => {
      const config = await loadConfig();
      if (config.driver !== 'database') {
        console.log(`The ${config.driver} driver keeps its jobs without tables; nothing to write.`);
        return;
      }
      const dir = path.join(config.root, MIGRATIONS_DIR);
      const existing = existsSync(dir)
        ? readdirSync(dir).find((f) => f.includes(`_create_${config.table}_table.`))
        : undefined;
      if (existing) {
        console.log(`The migration for "${config.table}" already exists: ${MIGRATIONS_DIR}/${existing} (run rakit migrate).`);
        return;
      }
      const knex = createKnex(config.database, config.root);
      try {
        const present = await Promise.all([config.table, config.failed_table].map((t) => knex.schema.hasTable(t))).catch(() => [false]);
        if (present.some(Boolean)) {
          console.log(`The tables "${config.table}"/"${config.failed_table}" already exist in the database; nothing to write.`);
          return;
        }
      } finally {
        await knex.destroy();
      }
      mkdirSync(dir, { recursive: true });
      const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
      const language = appLanguage(config.root, config.source);
      const file = path.join(dir, jobTablesMigrationName(config.table, stamp, language));
      writeFileSync(file, jobTablesMigration(config.table, config.failed_table, language), { flag: 'wx' });
      console.log(`Created ${path.relative(config.root, file)} — now run: rakit migrate`);
    });
}
