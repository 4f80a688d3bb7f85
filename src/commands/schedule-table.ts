import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { appLanguage } from '../core/app-files.ts';
import { loadConfig } from '../core/config.ts';
import { createKnex } from '../core/drivers/database-connection.ts';
import { MIGRATIONS_DIR } from '../core/migrations.ts';
import { scheduleMigration, scheduleMigrationName, scheduleTables } from '../schedule/migration.ts';

export function scheduleTableCommand(): Command {
  return new Command('schedule:table')
    .description('write the migration that creates the scheduler\'s tables (then run rakit migrate)')
    .action(async () => {
      const config = await loadConfig();
      if (config.driver !== 'database') {
        console.log(`The ${config.driver} driver keeps the scheduler's records without tables; nothing to write.`);
        return;
      }
      const dir = path.join(config.root, MIGRATIONS_DIR);
      const existing = existsSync(dir) ? readdirSync(dir).find((f) => f.includes(`_create_${config.table}_schedule_tables.`)) : undefined;
      if (existing) {
        console.log(`The scheduler's migration already exists: ${MIGRATIONS_DIR}/${existing} (run rakit migrate).`);
        return;
      }
      const tables = Object.values(scheduleTables(config.table));
      const knex = createKnex(config.database, config.root);
      try {
        const present = await Promise.all(tables.map((t) => knex.schema.hasTable(t))).catch(() => [false]);
        if (present.some(Boolean)) {
          console.log(`The scheduler's tables (${tables.join(', ')}) already exist in the database; nothing to write.`);
          return;
        }
      } finally {
        await knex.destroy();
      }
      mkdirSync(dir, { recursive: true });
      const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
      const language = appLanguage(config.root, config.source);
      const file = path.join(dir, scheduleMigrationName(config.table, stamp, language));
      writeFileSync(file, scheduleMigration(config.table, language), { flag: 'wx' });
      console.log(`Created ${path.relative(config.root, file)} — now run: rakit migrate`);
    });
}
