/**
 * The `rakit` binary's main: runs a worker process (forked by the manager) or the commands
 * (program.ts, loaded only then), and turns every error into a one-line message and an exit
 * code (0 ok, 1 runtime failure, 2 bad usage or bad config).
 */
import { RakitError, coerceError } from './infra/errors.ts';
import { WORKER_ARG } from './manager/ipc.ts';
import { holding } from './infra/keep-alive.ts';
import { closeRuntime } from './api/runtime.ts';

/** Runs the program and returns the exit code; the process stays alive until it has one. */
export function main(argv: string[]): Promise<number> {
  return holding(() => run(argv));
}

async function run(argv: string[]): Promise<number> {
  try {
    if (argv[0] === WORKER_ARG) {
      // A worker process forked by the manager (src/manager/manager.ts).
      const { runWorkerProcess } = await import('./worker/worker-process.ts');
      return await runWorkerProcess(JSON.parse(process.env.RAKIT_WORKER ?? '{}'));
    }
    return await (await import('./commands/program.ts')).runProgram(argv);
  } catch (thrown) {
    const error = coerceError(thrown);
    // Lines logged before the error come first (a command that logged has loaded the logger already).
    (await import('./infra/logger.ts')).flushLogs();
    process.stderr.write(`rakit: ${error.message}\n`);
    if (!(error instanceof RakitError) && process.env.RAKIT_DEBUG) process.stderr.write(`${error.stack}\n`);
    return error instanceof RakitError ? error.exitCode : 1;
  } finally {
    await closeRuntime().catch(() => undefined);
  }
}
