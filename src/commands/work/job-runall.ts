import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { addWorkerFlags, runWorker, type WorkerFlags } from './worker-command.ts';

export function jobRunallCommand(): Command {
  return addWorkerFlags(new Command('job:runall')
    .description('run the worker: take due jobs from the queues until stopped (SIGTERM/SIGINT: finish running jobs, then exit)'))
    .action(async (flags: WorkerFlags) => {
      const rt = await runtime();
      // Worker processes are replaced after max_job jobs (0 = never); --max-jobs counts the whole run.
      process.exitCode = await runWorker(flags, {}, rt.config.max_job);
    });
}
