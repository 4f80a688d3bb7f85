import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { addWorkerFlags, runWorker, type WorkerFlags } from './worker-command.ts';

export function jobRunCommand(): Command {
  return addWorkerFlags(new Command('job:run')
    .description('process the due jobs of these job names, then exit (at most max_job jobs; cron-friendly)')
    .argument('<name...>', 'job names, e.g. send-email'))
    .action(async (names: string[], flags: WorkerFlags) => {
      const rt = await runtime();
      process.exitCode = await runWorker(flags, { names, stopWhenEmpty: true, maxJobs: flags.maxJobs ?? rt.config.max_job }, 0);
    });
}
