import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';

export function jobRestartCommand(): Command {
  return new Command('job:restart')
    .description('deploy step: every worker sharing this queue store, on any host, exits after its running jobs (supervisor starts it again with the new code)')
    .action(async () => {
      const rt = await runtime();
      await rt.driver.requestRestart(rt.clock.now());
      console.log(`Restart requested on ${rt.driver.description}: each worker exits after its running jobs, within about a second once idle.`);
    });
}
