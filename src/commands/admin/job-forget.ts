import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { UsageError } from '../../infra/errors.ts';
import { filterArgs, filterOf, hasFilter, withFilterOptions, type FilterFlags } from '../failed-filter.ts';

export function jobForgetCommand(): Command {
  return withFilterOptions(new Command('job:forget')
    .description('delete a failed job, or every failed job a filter matches')
    .argument('[id]', 'failed job id (from job:failed)'))
    .action(async (id: string | undefined, flags: FilterFlags) => {
      if ((id === undefined) === !hasFilter(flags)) throw new UsageError('Give one failed job id, or a filter such as --queue mail (see rakit job:forget --help)');
      const rt = await runtime();
      if (id !== undefined) {
        if ((await rt.driver.forgetFailed([id]))[0]) console.log(`Failed job ${id} deleted.`);
        else {
          console.error(`No failed job with id ${id} (see rakit job:failed)`);
          process.exitCode = 1;
        }
        return;
      }
      const [{ runSweep }, { describeFilter }, { wallClock }] = await Promise.all([
        import('../sweep-progress.ts'), import('../../store/failed/failed-view.ts'), import('../../infra/logger.ts'),
      ]);
      const filter = filterOf(flags, rt.clock.now(), rt.config.timezone);
      await runSweep(rt.driver, rt.clock, 'forget', filter, describeFilter(filter, (ms) => wallClock(ms, rt.config.timezone)), `job:forget${filterArgs(flags)}`);
    });
}
