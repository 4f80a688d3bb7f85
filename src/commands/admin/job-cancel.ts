import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { cancelJob, type CancelOutcome } from '../../flows/cancel-job.ts';
import { UsageError } from '../../infra/errors.ts';
import { JobResults } from '../../store/job-results.ts';

const SAYS: Record<CancelOutcome, string> = {
  cancelled: 'cancelled (it was pending: deleted)',
  requested: 'running: asked to stop (its signal aborts within a second; it is recorded cancelled once its code has stopped)',
  missing: 'not pending and not running (finished, or no such job)',
};

/** `rakit job:cancel ID...`: deletes pending jobs, asks the workers running the others to stop them. Exit 1 when one is missing or held. */
export function jobCancelCommand(): Command {
  return new Command('job:cancel')
    .description('cancel jobs: a pending job is deleted; a running one is stopped by whichever worker runs it (its AbortSignal fires, killed after the grace if it ignores it) and recorded cancelled')
    .argument('<id...>', 'job ids')
    .option('--json', 'print JSON')
    .action(async (ids: string[], flags: { json?: boolean }) => {
      const rt = await runtime();
      const results = new JobResults(rt.driver, rt.config, rt.logger);
      const outcomes: Record<string, CancelOutcome | 'held'> = {};
      for (const id of ids) {
        try {
          outcomes[id] = await cancelJob(rt.driver, id, { now: rt.clock.now(), by: 'cli', results });
          if (!flags.json) console.log(`Job ${id}: ${SAYS[outcomes[id] as CancelOutcome]}`);
        } catch (error) {
          if (!(error instanceof UsageError)) throw error;
          outcomes[id] = 'held';
          if (!flags.json) console.log(error.message);
        }
      }
      if (flags.json) console.log(JSON.stringify(outcomes));
      if (Object.values(outcomes).some((o) => o === 'missing' || o === 'held')) process.exitCode = 1;
    });
}
