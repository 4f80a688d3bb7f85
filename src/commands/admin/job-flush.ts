import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { wholeNumber } from '../options.ts';

export function jobFlushCommand(): Command {
  return new Command('job:flush')
    .description('delete failed jobs (all, or those older than --hours)')
    .option('--hours <n>', 'only failed jobs older than this many hours', wholeNumber(0))
    .action(async (flags: { hours?: number }) => {
      const [rt, { runSweep }, { EVERY_FAILURE }] = await Promise.all([runtime(), import('../sweep-progress.ts'), import('../../store/failed/failed-view.ts')]);
      const until = flags.hours === undefined ? null : rt.clock.now() - flags.hours * 3_600_000;
      const what = flags.hours === undefined ? 'every failed job' : `failed jobs older than ${flags.hours} hours`;
      await runSweep(rt.driver, rt.clock, 'forget', { ...EVERY_FAILURE, until }, what, `job:flush ${flags.hours ?? ''}`);
    });
}
