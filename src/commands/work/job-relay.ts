import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { UsageError } from '../../infra/errors.ts';

/** `rakit job:relay`: the outbox relay alone (job:runall runs one too), or `--once` to move what is committed and exit. */
export function jobRelayCommand(): Command {
  return new Command('job:relay')
    .description('move jobs committed to the outbox table (outbox: true) to the job store, until stopped (job:runall runs this too)')
    .option('--once', 'move what is committed now, then exit')
    .action(async (flags: { once?: boolean }) => {
      const rt = await runtime();
      if (!rt.config.outbox) throw new UsageError('The outbox is off: set outbox: true in application/config/job.ts (then rakit job:table && rakit migrate)');
      const { openRelay } = await import('../../flows/outbox/outbox-store.ts');
      const outbox = openRelay(rt.config, rt.driver, rt.logger);
      try {
        if (flags.once) {
          const moved = await outbox.relay.drain();
          console.log(`Moved ${moved} job${moved === 1 ? '' : 's'} from the outbox to ${rt.driver.description}.`);
          return;
        }
        const stopping = new AbortController();
        const stop = () => stopping.abort();
        process.on('SIGTERM', stop).on('SIGINT', stop);
        rt.logger.info(`Outbox relay started: ${rt.config.outbox_table} → ${rt.driver.description}`);
        try {
          await outbox.relay.run(stopping.signal);
        } finally {
          process.off('SIGTERM', stop).off('SIGINT', stop);
        }
      } finally {
        await outbox.close();
      }
    });
}
