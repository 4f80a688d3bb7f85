/**
 * `rakit job:batches`: the batches the store keeps, newest created first, with their progress;
 * `rakit job:batches cancel ID` cancels one (and settles its jobs no longer stored, see
 * flows/batches/batch-gone.ts).
 */
import { Command, InvalidArgumentError } from 'commander';
import { batchView as view } from '../../flows/batches/batch-record.ts';
import { cancelFromOutside } from '../../flows/batches/batch-gone.ts';
import { listBatches } from '../../flows/batches/batch-store.ts';
import { runtime } from '../../api/runtime.ts';
import { formatTable } from '../table.ts';

export function jobBatchesCommand(): Command {
  const command = new Command('job:batches')
    .description('list batches with their progress (newest first); "job:batches cancel ID" cancels one')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'at most this many batches', positive, 50)
    .action(async (flags: { json?: boolean; limit: number }) => {
      const rt = await runtime();
      const batches = (await listBatches(rt.driver, flags.limit)).map(view);
      if (flags.json) return void console.log(JSON.stringify({ batches }));
      if (batches.length === 0) return void console.log(`No batches (${rt.driver.description}).`);
      console.log(formatTable(['ID', 'NAME', 'TOTAL', 'PENDING', 'FAILED', 'SKIPPED', 'PROGRESS', 'STATUS', 'CREATED'], batches.map((b) =>
        [b.id, b.name ?? '-', b.totalJobs, b.pendingJobs, b.failedJobs, b.skippedJobs, `${b.progress}%`, b.status, b.createdAt])));
    });
  command.command('cancel')
    .description('cancel a batch: its jobs not started yet are not run; then will not run, finally will')
    .argument('<id>', 'the batch id')
    .option('--json', 'print JSON')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      // `--json` after the id is parsed by job:batches itself: read both.
      const { json } = cmd.optsWithGlobals<{ json?: boolean }>();
      const rt = await runtime();
      const { record, cancelled, gone } = await cancelFromOutside(rt.driver, id, rt.clock.now());
      if (!record) {
        console.error(`No batch ${id} (rakit job:batches lists them)`);
        process.exitCode = 1;
        return;
      }
      const batch = view(record);
      if (json) return void console.log(JSON.stringify({ cancelled, gone, batch }));
      const name = record.name ?? id;
      if (!cancelled && gone === 0) return void console.log(`Batch ${name} was already ${batch.status}: nothing changed.`);
      if (cancelled) console.log(`Cancelled batch ${name}: its jobs not started yet will not run.`);
      if (gone > 0) console.log(`${gone} of its jobs were no longer stored (job:clear?): counted as skipped; the batch is ${batch.status}.`);
    });
  return command;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('give a whole number ≥ 1');
  return n;
}
