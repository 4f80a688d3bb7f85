import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { wholeNumber } from '../options.ts';

export function jobFlushCommand(): Command {
  return new Command('job:flush')
    .description('delete failed jobs (all, or those older than --hours)')
    .option('--hours <n>', 'only failed jobs older than this many hours', wholeNumber(0))
    .action(async (flags: { hours?: number }) => {
      const rt = await runtime();
      const before = flags.hours === undefined ? null : rt.clock.now() - flags.hours * 3_600_000;
      const n = await rt.driver.flushFailed(before);
      console.log(`Deleted ${n} failed job${n === 1 ? '' : 's'}.`);
    });
}
