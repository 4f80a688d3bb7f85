import { Command } from 'commander';
import { runtime } from '../core/runtime.ts';

export function jobRetryCommand(): Command {
  return new Command('job:retry')
    .description('put failed jobs back on their queue, with their attempts reset')
    .argument('<ids...>', 'failed job ids (from job:failed), or "all"')
    .action(async (ids: string[]) => {
      const rt = await runtime();
      const result = await rt.driver.retryFailed(ids.includes('all') ? 'all' : ids);
      for (const r of result.retried) console.log(`Failed job ${r.failedId} queued again as job ${r.jobId}`);
      for (const id of result.overlapping) console.log(`Failed job ${id} left failed: a job with its overlap key is pending or running`);
      for (const id of result.missing) console.error(`No failed job with id ${id} (see rakit job:failed)`);
      if (result.retried.length === 0 && ids.includes('all')) console.log('No failed jobs.');
      if (result.missing.length > 0) process.exitCode = 1;
    });
}
