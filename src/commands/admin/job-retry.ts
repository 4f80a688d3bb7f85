import { Command } from 'commander';
import type { RetryResult } from '../../store/driver.ts';
import { runtime } from '../../api/runtime.ts';
import { UsageError } from '../../infra/errors.ts';
import { filterArgs, filterOf, hasFilter, withFilterOptions, type FilterFlags } from '../failed-filter.ts';

export function jobRetryCommand(): Command {
  return withFilterOptions(new Command('job:retry')
    .description('put failed jobs back on their queue, with their attempts reset: by id, "all", or by filter')
    .argument('[ids...]', 'failed job ids (from job:failed), or "all"'))
    .action(async (ids: string[], flags: FilterFlags) => {
      const byFilter = ids.includes('all') || hasFilter(flags);
      if (ids.length === 0 && !byFilter) throw new UsageError('Give failed job ids, "all", or a filter such as --queue mail (see rakit job:retry --help)');
      const rt = await runtime();
      if (!byFilter) {
        const result = await rt.driver.retryFailed(ids);
        for (const r of result.retried) console.log(`Failed job ${r.failedId} queued again as job ${r.jobId}`);
        report(result);
        return;
      }
      const [{ runSweep }, { describeFilter }, { wallClock }] = await Promise.all([
        import('../sweep-progress.ts'), import('../../store/failed/failed-view.ts'), import('../../infra/logger.ts'),
      ]);
      const filter = filterOf(flags, rt.clock.now(), rt.config.timezone);
      await runSweep(rt.driver, rt.clock, 'retry', filter, describeFilter(filter, (ms) => wallClock(ms, rt.config.timezone)), `job:retry${filterArgs(flags)}`);
    });
}

function report(result: RetryResult): void {
  for (const id of result.overlapping) console.log(`Failed job ${id} left failed: a job with its overlap key is pending or running`);
  for (const id of result.missing) console.error(`No failed job with id ${id} (see rakit job:failed)`);
  if (result.missing.length > 0) process.exitCode = 1;
}
