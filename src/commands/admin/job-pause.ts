import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { queueArguments } from '../options.ts';

export function jobPauseCommand(): Command {
  return new Command('job:pause')
    .description('pause queues: every worker sharing this queue store stops claiming from them within about a second; their jobs stay queued')
    .argument('<queue...>', 'queue names')
    .option('--json', 'print JSON')
    .action(async (names: string[], flags: { json?: boolean }) => {
      const queues = queueArguments(names);
      const rt = await runtime();
      const admin = rt.driver;
      for (const queue of queues) await admin.pauseQueue(queue);
      const paused = await admin.pausedQueues();
      if (flags.json) console.log(JSON.stringify({ paused: queues, pausedQueues: paused }));
      else console.log(`Paused ${queues.join(', ')}: workers claim nothing from ${queues.length === 1 ? 'it' : 'them'} within about a second (rakit job:resume ${queues.join(' ')} to undo).`);
    });
}
