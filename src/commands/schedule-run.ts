import { Command } from 'commander';
import { noTasksHint, openScheduler, printLine } from '../schedule/load.ts';

export function scheduleRunCommand(): Command {
  return new Command('schedule:run')
    .description('run the scheduled tasks due this minute, then exit (cron calls it every minute)')
    .action(async () => {
      const { rt, tasks, store, runner } = await openScheduler(printLine);
      try {
        if (tasks.length === 0) printLine(noTasksHint(rt.config.root, rt.config.source));
        else if ((await runner.runMinute()).length === 0) printLine('No scheduled tasks are due.');
      } finally {
        await store.close();
      }
    });
}
