import { Command } from 'commander';
import { coerceError } from '../../infra/errors.ts';
import { openScheduler, printLine } from '../../schedule/load.ts';

export function scheduleWorkCommand(): Command {
  return new Command('schedule:work')
    .description('run the scheduler in the foreground: the due tasks at the start of every minute (SIGTERM/Ctrl-C: stop after the running tasks)')
    .action(async () => {
      const { rt, runner } = await openScheduler(printLine);
      const stop = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        if (stop.signal.aborted) {
          // A second signal: stop now, the way the signal would have without us.
          process.removeListener('SIGTERM', onSignal).removeListener('SIGINT', onSignal);
          process.kill(process.pid, signal);
          return;
        }
        printLine('Stopping: waiting for the running tasks to end.');
        stop.abort();
      };
      process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
      const running = new Set<Promise<unknown>>();
      printLine('Scheduler working: the due tasks run at the start of every minute.');
      try {
        while (!stop.signal.aborted) {
          const next = (Math.floor(rt.clock.now() / 60_000) + 1) * 60_000;
          await rt.clock.sleep(next - rt.clock.now(), stop.signal);
          if (stop.signal.aborted) break;
          const minute = runner.runMinute(next).catch((error: unknown) => console.error(`rakit: ${coerceError(error).message}`));
          running.add(minute);
          void minute.finally(() => running.delete(minute));
        }
        await Promise.all(running);
      } finally {
        process.removeListener('SIGTERM', onSignal).removeListener('SIGINT', onSignal);
      }
    });
}
