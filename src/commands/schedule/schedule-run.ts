import { Command } from 'commander';
import { loadConfig } from '../../infra/config.ts';
import { loadSchedule, noTasksHint, openScheduler, printLine } from '../../schedule/load.ts';
import { mayRunIn } from '../../schedule/runner.ts';

export function scheduleRunCommand(): Command {
  return new Command('schedule:run')
    .description('run the scheduled tasks due this minute, then exit (cron calls it every minute)')
    .action(async () => {
      // Cron's common run, a minute with nothing due, makes no runtime and opens no store: no
      // knex, no store client, no logger.
      const at = Date.now();
      const config = await loadConfig();
      const tasks = await loadSchedule(config.root, config.timezone);
      if (tasks.length === 0) return printLine(noTasksHint(config.root, config.source));
      if (!mayRunIn(tasks, config.timezone, at)) return printLine('No scheduled tasks are due.');
      const { runner } = await openScheduler(printLine, tasks);
      if ((await runner.runMinute()).length === 0) printLine('No scheduled tasks are due.');
    });
}
