import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { formatTable, outputWidth } from '../table.ts';
import { wholeNumber } from '../options.ts';
import { filterArgs, filterOf, withFilterOptions, type FilterFlags } from '../failed-filter.ts';

interface Flags extends FilterFlags {
  json?: boolean;
  limit: number;
  after?: string;
}

export function jobFailedCommand(): Command {
  return withFilterOptions(new Command('job:failed')
    .description('list failed jobs, newest first, a page at a time')
    .option('--json', 'print JSON (with payload and full exception); the next page\'s --after goes to stderr')
    .option('--limit <n>', 'failed jobs per page (at most 1000)', wholeNumber(1), 1000)
    .option('--after <cursor>', 'the page after the one that printed this cursor'))
    .action(async (flags: Flags) => {
      const [rt, { wallClock }] = await Promise.all([runtime(), import('../../infra/logger.ts')]);
      const filter = filterOf(flags, rt.clock.now(), rt.config.timezone);
      const [page, counts] = await Promise.all([
        rt.driver.listFailed({ ...filter, after: flags.after ?? null, limit: Math.min(flags.limit, 1000) }),
        flags.json ? null : rt.driver.countFailed(filter),
      ]);
      const more = page.next === null ? '' : `rakit job:failed --after ${page.next}${filterArgs(flags)}${flags.limit === 1000 ? '' : ` --limit ${flags.limit}`}`;
      if (flags.json) {
        console.log(JSON.stringify(page.jobs));
        if (more) console.error(`Older failed jobs: ${more} --json`);
        return;
      }
      if (page.jobs.length === 0) {
        console.log(counts!.total === 0 ? 'No failed jobs.' : `No more failed jobs (${counts!.total} in all).`);
        return;
      }
      console.log(formatTable(['ID', 'JOB', 'QUEUE', 'ATTEMPTS', 'FAILED AT', 'ERROR'], page.jobs.map((f) => [
        f.id, f.name, f.queue, f.attempts, wallClock(f.failedAt, rt.config.timezone),
        f.exception.split('\n')[0] ?? '',
      ]), outputWidth(160)));
      const total = counts!.total;
      if (page.jobs.length === total) console.log(`\n${total} failed job${total === 1 ? '' : 's'}. Full errors and payloads: rakit job:failed --json`);
      else console.log(`\n${page.jobs.length} of ${total} failed jobs, newest first.${more ? ` Older ones: ${more}` : ''}`);
    });
}
