import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';

export function jobForgetCommand(): Command {
  return new Command('job:forget')
    .description('delete a failed job')
    .argument('<id>', 'failed job id (from job:failed)')
    .action(async (id: string) => {
      const rt = await runtime();
      if (await rt.driver.forgetFailed(id)) console.log(`Failed job ${id} deleted.`);
      else {
        console.error(`No failed job with id ${id} (see rakit job:failed)`);
        process.exitCode = 1;
      }
    });
}
