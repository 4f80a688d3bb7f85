import { Command } from 'commander';
import type { RetryResult } from '../../store/driver.ts';
import { runtime } from '../../api/runtime.ts';

/** Failed jobs put back per driver call: small enough for a bar that moves. */
const CHUNK = 100;

export function jobRetryCommand(): Command {
  return new Command('job:retry')
    .description('put failed jobs back on their queue, with their attempts reset')
    .argument('<ids...>', 'failed job ids (from job:failed), or "all"')
    .action(async (ids: string[]) => {
      const rt = await runtime();
      if (!ids.includes('all')) {
        const result = await rt.driver.retryFailed(ids);
        for (const r of result.retried) console.log(`Failed job ${r.failedId} queued again as job ${r.jobId}`);
        report(result);
        return;
      }
      const all = (await rt.driver.listFailed(Number.MAX_SAFE_INTEGER)).map((f) => f.id);
      if (all.length === 0) {
        console.log('No failed jobs.');
        return;
      }
      // On a terminal, a progress bar on stderr; in a pipe or a log, only the summary.
      const bar = process.stderr.isTTY
        ? new (await import('cli-progress')).SingleBar({ format: 'Retrying failed jobs [{bar}] {percentage}% {value}/{total} {eta_formatted} left', stream: process.stderr, hideCursor: true })
        : null;
      bar?.start(all.length, 0);
      const total: RetryResult = { retried: [], missing: [], overlapping: [] };
      try {
        for (let i = 0; i < all.length; i += CHUNK) {
          const chunk = all.slice(i, i + CHUNK);
          const result = await rt.driver.retryFailed(chunk);
          total.retried.push(...result.retried);
          total.overlapping.push(...result.overlapping);
          bar?.increment(chunk.length);
        }
      } finally {
        bar?.stop();
      }
      // A failed job forgotten or retried by someone else meanwhile is not an error of "all".
      console.log(`Queued ${total.retried.length} failed job${total.retried.length === 1 ? '' : 's'} again.`);
      report(total);
    });
}

function report(result: RetryResult): void {
  for (const id of result.overlapping) console.log(`Failed job ${id} left failed: a job with its overlap key is pending or running`);
  for (const id of result.missing) console.error(`No failed job with id ${id} (see rakit job:failed)`);
  if (result.missing.length > 0) process.exitCode = 1;
}
