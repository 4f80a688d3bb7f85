import { Command } from 'commander';
import { loadConfig } from '../../infra/config.ts';
import { scheduleMigration, scheduleMigrationName, scheduleTables } from '../../schedule/migration.ts';
import { writeMigrationOnce } from './write-migration.ts';

export function scheduleTableCommand(): Command {
  return new Command('schedule:table')
    .description('write the migration that creates the scheduler\'s tables (then run rakit migrate)')
    .action(async () => {
      const config = await loadConfig();
      if (config.driver !== 'database') {
        console.log(`The ${config.driver} driver keeps the scheduler's records without tables; nothing to write.`);
        return;
      }
      await writeMigrationOnce(config, {
        label: "The scheduler's migration",
        marker: `_create_${config.table}_schedule_tables.`,
        tables: Object.values(scheduleTables(config.table)),
        fileName: (stamp, language) => scheduleMigrationName(config.table, stamp, language),
        body: (language) => scheduleMigration(config.table, language),
      });
    });
}
