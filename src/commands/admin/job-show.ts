import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { readResult } from '../../store/job-results.ts';

/** `rakit job:show ID`: one job, pending or failed, and its result once it has finished (or its cancel). */
export function jobShowCommand(): Command {
  return new Command('job:show')
    .description('show one job: pending, failed, or its result once finished (kept result_retention_hours)')
    .argument('<id>', 'a job id (or a failed job id from job:failed)')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const [rt, { wallClock }] = await Promise.all([runtime(), import('../../infra/logger.ts')]);
      const [pending, failed, result] = await Promise.all([rt.driver.getJob(id), rt.driver.getFailed(id), readResult(rt.driver, id)]);
      if (flags.json) {
        console.log(JSON.stringify({ id, pending, failed, result }));
        if (!pending && !failed && !result) process.exitCode = 1;
        return;
      }
      const at = (ms: number) => wallClock(ms, rt.config.timezone);
      if (pending) {
        console.log(`Job ${id}: ${pending.name} on ${pending.queue}, ${pending.state} (due ${at(pending.scheduledAt)}, attempts ${pending.attempts})`);
        console.log(`Payload: ${pending.payload}`);
      }
      if (failed) {
        console.log(`Failed job ${id}: ${failed.name} on ${failed.queue}, failed ${at(failed.failedAt)} after ${failed.attempts} attempts (job ${failed.jobId})`);
        console.log(`Payload: ${failed.payload}`);
        console.log(failed.exception);
      }
      if (result) {
        const head = `Job ${id} ${result.done ? 'finished' : 'cancelled' in result ? 'was cancelled' : 'failed'} at ${at(result.at)}`;
        if (!result.done) console.log(`${head}: ${result.error}`);
        else if ('dropped' in result) console.log(`${head}; its result was not kept: ${result.dropped}`);
        else console.log(`${head}. Result:\n${JSON.stringify(result.value, null, 2)}`);
      }
      if (!pending && !failed && !result) {
        console.log(`No job ${id}: not pending, not failed, and no result kept (a job that returned nothing keeps none; results are kept ${rt.config.result_retention_hours} h).`);
        process.exitCode = 1;
      }
    });
}
