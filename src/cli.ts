/**
 * The `rakit` program: attaches one command per module and turns every error into a one-line
 * message and an exit code (0 ok, 1 runtime failure, 2 bad usage or bad config).
 */
import { Command, CommanderError } from 'commander';
import { jobClearCommand } from './commands/job-clear.ts';
import { jobDispatchCommand } from './commands/job-dispatch.ts';
import { jobFailedCommand } from './commands/job-failed.ts';
import { jobFlushCommand } from './commands/job-flush.ts';
import { jobForgetCommand } from './commands/job-forget.ts';
import { jobRestartCommand } from './commands/job-restart.ts';
import { jobRetryCommand } from './commands/job-retry.ts';
import { jobRunCommand } from './commands/job-run.ts';
import { jobRunallCommand } from './commands/job-runall.ts';
import { jobStatusCommand } from './commands/job-status.ts';
import { jobSupervisorCommand } from './commands/job-supervisor.ts';
import { jobTableCommand } from './commands/job-table.ts';
import { makeJobCommand } from './commands/make-job.ts';
import { migrateCommand } from './commands/migrate.ts';
import { RakitError, coerceError } from './core/errors.ts';
import { WORKER_ARG } from './core/ipc.ts';
import { closeRuntime } from './core/runtime.ts';

export function buildProgram(): Command {
  const program = new Command('rakit')
    .description('rakit jobs: queue and run background jobs of the app in this folder')
    .version('0.1.0');
  for (const command of [
    jobTableCommand(), migrateCommand(), jobRunallCommand(), jobRunCommand(), jobDispatchCommand(),
    jobFailedCommand(), jobRetryCommand(), jobForgetCommand(), jobFlushCommand(), jobStatusCommand(),
    jobClearCommand(), jobRestartCommand(), jobSupervisorCommand(), makeJobCommand(),
  ]) program.addCommand(command);
  for (const command of [program, ...program.commands]) {
    command.exitOverride().showSuggestionAfterError(true).showHelpAfterError(`(run "rakit ${command === program ? '' : `${command.name()} `}--help" for usage)`);
  }
  return program;
}

/** Runs the program and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    if (argv[0] === WORKER_ARG) {
      // A worker process forked by the manager (src/core/manager.ts).
      const { runWorkerProcess } = await import('./core/worker-process.ts');
      return await runWorkerProcess(JSON.parse(process.env.RAKIT_WORKER ?? '{}'));
    }
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (thrown) {
    if (thrown instanceof CommanderError) {
      return thrown.code === 'commander.helpDisplayed' || thrown.code === 'commander.version' || thrown.code === 'commander.help' ? 0 : 2;
    }
    const error = coerceError(thrown);
    process.stderr.write(`rakit: ${error.message}\n`);
    if (!(error instanceof RakitError) && process.env.RAKIT_DEBUG) process.stderr.write(`${error.stack}\n`);
    return error instanceof RakitError ? error.exitCode : 1;
  } finally {
    await closeRuntime().catch(() => undefined);
  }
}
