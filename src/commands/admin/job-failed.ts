import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { formatTable, outputWidth } from '../table.ts';

export function jobFailedCommand(): Command {
  return new Command('job:failed')
    .description('list failed jobs')
    .option('--json', 'print JSON (with payload and full exception)')
    .action(async (flags: { json?: boolean }) => {
      const [rt, { wallClock }] = await Promise.all([runtime(), import('../../infra/logger.ts')]);
      const failed = await rt.driver.listFailed();
      if (flags.json) {
        console.log(JSON.stringify(failed));
        return;
      }
      if (failed.length === 0) {
        console.log('No failed jobs.');
        return;
      }
      console.log(formatTable(['ID', 'JOB', 'QUEUE', 'ATTEMPTS', 'FAILED AT', 'ERROR'], failed.map((f) => [
        f.id, f.name, f.queue, f.attempts, wallClock(f.failedAt, rt.config.timezone),
        f.exception.split('\n')[0] ?? '',
      ]), outputWidth(160)));
      const shown = failed.length >= 1000 ? 'The first 1000 failed jobs' : `${failed.length} failed job${failed.length === 1 ? '' : 's'}`;
      console.log(`\n${shown}. Full errors and payloads: rakit job:failed --json`);
    });
}
