import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { addWorkerFlags, runWorker, type WorkerFlags } from './worker-command.ts';

/** What job:runall says on the sync driver, whose jobs ran when they were dispatched. */
export const SYNC_NOTHING_TO_RUN = 'The sync driver runs each job in the process that dispatches it, when it is dispatched: there is nothing for job:runall to run. Set driver (or JOB_DRIVER) to database, redis, file or memcached to run a worker.';

export function jobRunallCommand(): Command {
  return addWorkerFlags(new Command('job:runall')
    .description('run the worker: take due jobs from the queues until stopped (SIGTERM/SIGINT: finish running jobs, then exit)'))
    .action(async (flags: WorkerFlags) => {
      const rt = await runtime();
      if (rt.config.driver === 'sync') {
        console.log(SYNC_NOTHING_TO_RUN);
        return;
      }
      // Worker processes are replaced after max_job jobs (0 = never); --max-jobs counts the whole run.
      process.exitCode = await runWorker(flags, {}, rt.config.max_job);
    });
}
