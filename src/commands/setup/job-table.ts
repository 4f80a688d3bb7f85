import { Command } from 'commander';
import { loadConfig } from '../../infra/config.ts';
import { jobTablesMigration, jobTablesMigrationName } from '../../drivers/database/migrations.ts';
import { writeMigrationOnce } from './write-migration.ts';

export function jobTableCommand(): Command {
  return new Command('job:table')
    .description('write the migration that creates the jobs and failed-jobs tables (then run rakit migrate)')
    .action(async () => {
      const config = await loadConfig();
      if (config.driver !== 'database') {
        console.log(`The ${config.driver} driver keeps its jobs without tables; nothing to write.`);
        return;
      }
      await writeMigrationOnce(config, {
        label: `The migration for "${config.table}"`,
        marker: `_create_${config.table}_table.`,
        tables: [config.table, config.failed_table],
        fileName: (stamp, language) => jobTablesMigrationName(config.table, stamp, language),
        body: (language) => jobTablesMigration(config.table, config.failed_table, language),
      });
    });
}
