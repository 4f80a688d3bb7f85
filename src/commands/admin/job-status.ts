import { Command } from 'commander';
import { listProgress } from '../../middleware/progress.ts';
import { runtime, type Runtime } from '../../api/runtime.ts';
import { queuesAndWorkers } from '../../store/queues-in-sight.ts';
import { formatTable } from '../table.ts';

/** Progress records `job:status` reads (the most recent first). */
const PROGRESS_SHOWN = 100;

/** Groups `job:status --groups` lists: the largest backlogs. */
const GROUPS_SHOWN = 20;

/** Jobs waiting in the outbox, or null when there is none (outbox off, or the job store is the app's database). */
async function outboxBacklog(rt: Runtime): Promise<number | null> {
  if (!rt.config.outbox || rt.config.driver === 'database') return null;
  const backlog = (await import('../../flows/outbox/outbox-store.ts')).openBacklog(rt.config);
  try {
    return await backlog.read();
  } finally {
    await backlog.close();
  }
}

export function jobStatusCommand(): Command {
  return new Command('job:status')
    .description('per queue: jobs ready, scheduled, reserved (running) and failed, and whether it is paused; the progress jobs reported')
    .option('--groups', 'also list the groups (tenants) with the largest backlogs and how many of their jobs run')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean; groups?: boolean }) => {
      const rt = await runtime();
      // Emptied queues stay in sight: paused, listened on by workers, or worked in the last hour.
      // The queues first: they open the store, so an unreachable one is named as such.
      const { queues: rows, groups } = await queuesAndWorkers(rt.driver, rt.clock.now(), rt.config.metrics);
      const [progress, outbox] = await Promise.all([listProgress(rt.driver, PROGRESS_SHOWN), outboxBacklog(rt)]);
      if (flags.json) {
        console.log(JSON.stringify({ driver: rt.config.driver, queues: rows, ...(flags.groups ? { groups } : {}), progress, ...(outbox === null ? {} : { outbox }) }));
        return;
      }
      if (outbox !== null) console.log(`Outbox (${rt.config.outbox_table}): ${outbox} committed job${outbox === 1 ? '' : 's'} waiting for the relay (job:runall, job:relay).\n`);
      if (rows.length === 0) {
        console.log(`No jobs, workers or recent work (${rt.driver.description}).`);
        return;
      }
      const total = rows.reduce((t, s) => ({ ready: t.ready + s.ready, scheduled: t.scheduled + s.scheduled, reserved: t.reserved + s.reserved, failed: t.failed + s.failed }),
        { ready: 0, scheduled: 0, reserved: 0, failed: 0 });
      console.log(formatTable(['QUEUE', 'READY', 'SCHEDULED', 'RESERVED', 'FAILED', 'PAUSED'], [
        ...rows.map((s) => [s.queue, s.ready, s.scheduled, s.reserved, s.failed, s.paused ? 'yes' : '']),
        ['(total)', total.ready, total.scheduled, total.reserved, total.failed, ''],
      ]));
      if (flags.groups) {
        console.log(groups.length === 0 ? '\nNo job is in a group.' : `\nGroups, the largest backlogs first${groups.length > GROUPS_SHOWN ? ` (${GROUPS_SHOWN} of ${groups.length})` : ''}:`);
        if (groups.length > 0) {
          console.log(formatTable(['QUEUE', 'GROUP', 'READY', 'SCHEDULED', 'RESERVED', 'FAILED', 'PAUSED'],
            groups.slice(0, GROUPS_SHOWN).map((g) => [g.queue, g.group, g.ready, g.scheduled, g.reserved, g.failed, g.paused ? 'yes' : ''])));
        }
      }
      if (progress.length > 0) {
        console.log(`\nProgress reported by jobs (the last day, most recent first):`);
        console.log(formatTable(['JOB ID', 'JOB', 'QUEUE', 'PERCENT', 'MESSAGE', 'AT'],
          progress.slice(0, 20).map((p) => [p.id, p.name, p.queue, `${p.percent}%`, p.message ?? '', new Date(p.at).toISOString()])));
      }
    });
}
