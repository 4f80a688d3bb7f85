import { Command } from 'commander';
import { noTasksHint, openScheduler } from '../../schedule/load.ts';
import { localTime, nextTick } from '../../schedule/timing.ts';
import { formatTable, outputWidth } from '../table.ts';

export function scheduleListCommand(): Command {
  return new Command('schedule:list')
    .description('list the scheduled tasks: schedule, timezone, next run (in the task\'s timezone), last run and its outcome')
    .option('--json', 'one JSON document')
    .action(async (flags: { json?: boolean }) => {
      const { rt, tasks, store, runner } = await openScheduler();
      const now = rt.clock.now();
      const rows = await Promise.all(tasks.map(async (task) => {
        const zone = runner.zoneOf(task);
        const next = nextTick(task.expression, zone, now);
        const [last] = await store.runs(task.taskName, 1);
        return { task, zone, next, last };
      }));
      if (flags.json) {
        console.log(JSON.stringify({
          tasks: rows.map(({ task, zone, next, last }) => ({
            name: task.taskName, kind: task.action.kind, expression: task.expression, timezone: zone,
            nextRun: next === null ? null : new Date(next).toISOString(), nextRunLocal: next === null ? null : localTime(next, zone),
            onOneServer: task.oneServer, withoutOverlapping: task.overlapSeconds !== null, catchUp: task.catchUpMissed,
            lastRun: last ?? null,
          })),
        }, null, 2));
        return;
      }
      if (rows.length === 0) {
        console.log(noTasksHint(rt.config.root, rt.config.source));
        return;
      }
      const lastText = (last: (typeof rows)[number]['last'], zone: string) => {
        if (!last) return 'never';
        const took = last.durationMs === null ? '' : `, ${(last.durationMs / 1000).toFixed(2)} s`;
        return `${localTime(last.startedAt, zone).slice(0, 16)} ${last.outcome}${took}`;
      };
      console.log(formatTable(
        ['Task', 'Schedule', 'Timezone', 'Next run', 'Last run'],
        rows.map(({ task, zone, next, last }) => [
          task.taskName, task.expression, zone, next === null ? 'never' : localTime(next, zone).slice(0, 16), lastText(last, zone),
        ]),
        outputWidth(Infinity),
      ));
    });
}
