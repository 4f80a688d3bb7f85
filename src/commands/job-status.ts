import { Command } from 'commander';
import { runtime } from '../core/runtime.ts';
import { formatTable } from './table.ts';

export function jobStatusCommand(): Command {
  return new Command('job:status')
    .description('per queue: jobs ready, scheduled, reserved (running) and failed, and whether it is paused')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const rt = await runtime();
      const [stats, pausedList] = await Promise.all([rt.driver.stats(), rt.driver.pausedQueues()]);
      const paused = new Set(pausedList);
      // A paused queue shows even with no job in it: the pause is still in force.
      const rows = [...stats, ...pausedList.filter((q) => !stats.some((s) => s.queue === q)).map((queue) => ({ queue, ready: 0, scheduled: 0, reserved: 0, failed: 0 }))]
        .map((s) => ({ ...s, paused: paused.has(s.queue) }));
      if (flags.json) {
        console.log(JSON.stringify({ driver: rt.config.driver, queues: rows }));
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
    });
}
