import { Command } from 'commander';
import { noTasksHint, openScheduler } from '../../schedule/load.ts';

export function scheduleRunCommand(): Command {
  return new Command('schedule:run')
    .description('run the scheduled tasks due this minute, then exit (cron calls it every minute)')
    .action(async () => {
      const { rt, tasks, runner } = await openScheduler((line) => console.log(line));
      if (tasks.length === 0) console.log(noTasksHint(rt.config.root, rt.config.source));
      else if ((await runner.runMinute()).length === 0) console.log('No scheduled tasks are due.');
    });
}
