import { Command } from 'commander';
import { listProgress } from '../../middleware/progress.ts';
import { runtime } from '../../api/runtime.ts';
import { formatTable } from '../table.ts';

/** Progress records `job:status` reads (the most recent first). */
const PROGRESS_SHOWN = 100;

export function jobStatusCommand(): Command {
  return new Command('job:status')
    .description('per queue: jobs ready, scheduled, reserved (running) and failed, and whether it is paused; the progress jobs reported')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const rt = await runtime();
      const [stats, pausedList, progress] = await Promise.all([rt.driver.stats(), rt.driver.pausedQueues(), listProgress(rt.driver, PROGRESS_SHOWN)]);
      const paused = new Set(pausedList);
      // A paused queue shows even with no job in it: the pause is still in force.
      const rows = [...stats, ...pausedList.filter((q) => !stats.some((s) => s.queue === q)).map((queue) => ({ queue, ready: 0, scheduled: 0, reserved: 0, failed: 0 }))]
        .map((s) => ({ ...s, paused: paused.has(s.queue) }));
      if (flags.json) {
        console.log(JSON.stringify({ driver: rt.config.driver, queues: rows, progress }));
        return;
      }
      if (rows.length === 0) {
        console.log(`No jobs (${rt.driver.description}).`);
        return;
      }
      const total = rows.reduce((t, s) => ({ ready: t.ready + s.ready, scheduled: t.scheduled + s.scheduled, reserved: t.reserved + s.reserved, failed: t.failed + s.failed }),
        { ready: 0, scheduled: 0, reserved: 0, failed: 0 });
      console.log(formatTable(['QUEUE', 'READY', 'SCHEDULED', 'RESERVED', 'FAILED', 'PAUSED'], [
        ...rows.map((s) => [s.queue, s.ready, s.scheduled, s.reserved, s.failed, s.paused ? 'yes' : '']),
        ['(total)', total.ready, total.scheduled, total.reserved, total.failed, ''],
      ]));
      if (progress.length > 0) {
        console.log(`\nProgress reported by jobs (the last day, most recent first):`);
        console.log(formatTable(['JOB ID', 'JOB', 'QUEUE', 'PERCENT', 'MESSAGE', 'AT'],
          progress.slice(0, 20).map((p) => [p.id, p.name, p.queue, `${p.percent}%`, p.message ?? '', new Date(p.at).toISOString()])));
      }
    });
}
