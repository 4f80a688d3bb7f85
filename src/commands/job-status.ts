import { Command } from 'commander';
import { runtime } from '../core/runtime.ts';
import { formatTable } from './table.ts';

export function jobStatusCommand(): Command {
  return new Command('job:status')
    .description('per queue: jobs ready, scheduled, reserved (running) and failed')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const rt = await runtime();
      const stats = await rt.driver.stats();
      if (flags.json) {
        console.log(JSON.stringify({ driver: rt.config.driver, queues: stats }));
        return;
      }
      if (stats.length === 0) {
        console.log(`No jobs (${rt.driver.description}).`);
        return;
      }
      const total = stats.reduce((t, s) => ({ ready: t.ready + s.ready, scheduled: t.scheduled + s.scheduled, reserved: t.reserved + s.reserved, failed: t.failed + s.failed }),
        { ready: 0, scheduled: 0, reserved: 0, failed: 0 });
      console.log(formatTable(['QUEUE', 'READY', 'SCHEDULED', 'RESERVED', 'FAILED'], [
        ...stats.map((s) => [s.queue, s.ready, s.scheduled, s.reserved, s.failed]),
        ['(total)', total.ready, total.scheduled, total.reserved, total.failed],
      ]));
    });
}
