import { Command } from 'commander';
import { loadConfig } from '../../infra/config.ts';
import { jobTablesMigration, jobTablesMigrationName } from '../../drivers/database/migrations.ts';
import { writeMigrationOnce } from './write-migration.ts';

export function jobTableCommand(): Command {
  return new Command('job:table')
    .description('write the migration that creates the jobs and failed-jobs tables (then run rakit migrate)')
    .action(async () => {
      const config = await loadConfig();
      if (config.outbox && config.driver !== 'database') {
        // The job store is elsewhere: the app's database gets the outbox table only.
        const { outboxMigration, outboxMigrationName } = await import('../../flows/outbox/outbox-table.ts');
        await writeMigrationOnce(config, {
          label: `The outbox migration for "${config.outbox_table}"`,
          marker: `_create_${config.outbox_table}_table.`,
          tables: [config.outbox_table],
          fileName: (stamp, language) => outboxMigrationName(config.outbox_table, stamp, language),
          body: (language) => outboxMigration(config.outbox_table, language),
        });
        return;
      }
      if (config.driver !== 'database') {
        console.log(`The ${config.driver} driver keeps its jobs without tables; nothing to write (with outbox: true, the outbox table in your database).`);
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
