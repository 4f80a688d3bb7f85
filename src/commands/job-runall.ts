import { Command } from 'commander';
import { addWorkerFlags, runWorker, type WorkerFlags } from './worker-command.ts';

export function jobRunallCommand(): Command {
  return addWorkerFlags(new Command('job:runall')
    .description('run the worker: take due jobs from the queues until stopped (SIGTERM/SIGINT: finish running jobs, then exit)'))
    .action(async (flags: WorkerFlags) => {
      process.exitCode = await runWorker(flags, {});
    });
}
