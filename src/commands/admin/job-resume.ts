import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { queueArguments } from '../options.ts';
import { assertGroup, describeLane, laneOf } from '../../store/claims/lanes.ts';

export function jobResumeCommand(): Command {
  return new Command('job:resume')
    .description('resume paused queues: workers claim from them again within about a second')
    .argument('<queue...>', 'queue names')
    .option('--group <id>', 'resume only this group (tenant) of each queue')
    .option('--json', 'print JSON')
    .action(async (names: string[], flags: { json?: boolean; group?: string }) => {
      const queues = queueArguments(names).map((queue) => (flags.group === undefined ? queue : laneOf(queue, assertGroup(flags.group, queue, '--group'))));
      const rt = await runtime();
      const admin = rt.driver;
      const resumed: string[] = [];
      const notPaused: string[] = [];
      for (const queue of queues) (await admin.resumeQueue(queue) ? resumed : notPaused).push(queue);
      if (flags.json) {
        console.log(JSON.stringify({ resumed, notPaused, pausedQueues: await admin.pausedQueues() }));
        return;
      }
      if (resumed.length) console.log(`Resumed ${resumed.map(describeLane).join(', ')}: workers claim from ${resumed.length === 1 ? 'it' : 'them'} again within about a second.`);
      if (notPaused.length) console.log(`Not paused: ${notPaused.map(describeLane).join(', ')}.`);
    });
}
