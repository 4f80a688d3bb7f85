/**
 * `rakit schedule:table`, kept so the scripts that call it (`rakit schedule:table && rakit
 * migrate`) still work: the scheduler keeps its claims, locks and runs in the queue store's
 * records (schedule/store.ts) and has no table of its own, so there is nothing to write.
 */
import { Command } from 'commander';
import { loadConfig } from '../../infra/config.ts';

export function scheduleTableCommand(): Command {
  return new Command('schedule:table')
    .description('nothing to do: the scheduler keeps its state in the job store\'s records and needs no table of its own')
    .action(async () => {
      const config = await loadConfig();
      const where = config.driver === 'database' ? `the table ${config.table}_records that rakit job:table makes` : `the ${config.driver} driver's records`;
      console.log(`The scheduler needs no table of its own: it keeps its claims, locks and runs in ${where}. Nothing to write.`);
    });
}
