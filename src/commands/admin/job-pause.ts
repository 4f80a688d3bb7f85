import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { queueArguments } from '../options.ts';
import { assertGroup, describeLane, laneOf } from '../../store/claims/lanes.ts';

export function jobPauseCommand(): Command {
  return new Command('job:pause')
    .description('pause queues: every worker sharing this queue store stops claiming from them within about a second; their jobs stay queued')
    .argument('<queue...>', 'queue names')
    .option('--group <id>', 'pause only this group (tenant) of each queue')
    .option('--json', 'print JSON')
    .action(async (names: string[], flags: { json?: boolean; group?: string }) => {
      const queues = queueArguments(names).map((queue) => (flags.group === undefined ? queue : laneOf(queue, assertGroup(flags.group, queue, '--group'))));
      const rt = await runtime();
      const admin = rt.driver;
      for (const queue of queues) await admin.pauseQueue(queue);
      const paused = await admin.pausedQueues();
      if (flags.json) console.log(JSON.stringify({ paused: queues, pausedQueues: paused }));
      else console.log(`Paused ${queues.map(describeLane).join(', ')}: workers claim nothing from ${queues.length === 1 ? 'it' : 'them'} within about a second (rakit job:resume ${names.join(' ')}${flags.group === undefined ? '' : ` --group ${flags.group}`} to undo).`);
    });
}
