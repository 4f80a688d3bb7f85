import { Command } from 'commander';
import { UsageError } from '../../infra/errors.ts';
import { nearestNames } from '../../infra/naming.ts';
import { openScheduler } from '../../schedule/load.ts';

export function scheduleTestCommand(): Command {
  return new Command('schedule:test')
    .description('run one scheduled task now, whatever its schedule (its run lock still applies)')
    .argument('<name>', 'the task\'s name, as schedule:list shows it')
    .action(async (name: string) => {
      const { tasks, runner } = await openScheduler((line) => console.log(line));
      const task = tasks.find((t) => t.taskName === name);
      if (!task) {
        const near = nearestNames(name, tasks.map((t) => t.taskName));
        throw new UsageError(`No scheduled task "${name}"${near.length ? ` — did you mean ${near.map((n) => `"${n}"`).join(', ')}?` : ' (rakit schedule:list shows them)'}`);
      }
      const run = await runner.runNow(task);
      if (run?.outcome === 'failure') process.exitCode = 1;
    });
}
