import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../../infra/config.ts';
import { ConnectionError } from '../../infra/errors.ts';
import { MIGRATIONS_DIR, migrationSource } from '../../drivers/database/migrations.ts';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description(`run the pending migrations in ${MIGRATIONS_DIR}/ on the configured database`)
    .option('--rollback', 'undo the last batch of migrations')
    .option('--status', 'list migrations, run and pending')
    .action(async (flags: { rollback?: boolean; status?: boolean }) => {
      const config = await loadConfig();
      // knex loads when the command runs, not with its definition (`rakit --help`).
      const { createKnex, describeConnection } = await import('../../drivers/database/database-connection.ts');
      const knex = createKnex(config.database, config.root);
      // After the app's migrations, the package's upgrades of tables made by earlier versions:
      // the admin state and the failed table's indexes (database-upgrade.ts), then the scheduler's
      // (schedule/upgrade.ts); like knex, they load when the command runs.
      const [{ failedIndexesUpgrade, recordsUpgrade }, { scheduleUpgrade }] = await Promise.all([import('../../drivers/database/database-upgrade.ts'), import('../../schedule/upgrade.ts')]);
      const names = { table: config.table, failedTable: config.failed_table };
      const upgrades = [recordsUpgrade(names), failedIndexesUpgrade(names), scheduleUpgrade(config.table)];
      const options = { migrationSource: migrationSource(path.join(config.root, MIGRATIONS_DIR), upgrades) };
      try {
        await knex.raw('SELECT 1').catch((error: Error) => {
          throw new ConnectionError(`Cannot reach the database at ${describeConnection(knex.client.config)}: ${error.message}`);
        });
        if (flags.status) {
          // Our source lists migrations as file names: pending ones are those names.
          const [done, pending] = (await knex.migrate.list(options)) as [{ name: string }[], string[]];
          for (const m of done) console.log(`ran      ${m.name}`);
          for (const m of pending) console.log(`pending  ${options.migrationSource.getMigrationName(m)}`);
          if (done.length + pending.length === 0) console.log(`No migrations in ${MIGRATIONS_DIR}/ (run rakit job:table).`);
          return;
        }
        const [batch, names] = (flags.rollback ? await knex.migrate.rollback(options) : await knex.migrate.latest(options)) as [number, string[]];
        if (names.length === 0) console.log(flags.rollback ? 'Nothing to roll back.' : 'Nothing to migrate.');
        for (const name of names) console.log(`${flags.rollback ? 'Rolled back' : 'Migrated'}: ${name} (batch ${batch})`);
      } finally {
        await knex.destroy();
      }
    });
}
