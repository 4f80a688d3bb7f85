import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { queueName } from '../options.ts';

export function jobClearCommand(): Command {
  return new Command('job:clear')
    .description('delete pending jobs (running jobs are left to finish)')
    .option('--queue <queue>', 'only this queue', queueName)
    .action(async (flags: { queue?: string }) => {
      const rt = await runtime();
      const n = await rt.driver.clear(flags.queue ?? null);
      console.log(`Deleted ${n} pending job${n === 1 ? '' : 's'}${flags.queue ? ` from "${flags.queue}"` : ''}.`);
    });
}
