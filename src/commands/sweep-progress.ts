/**
 * Runs a retry or forget of failed jobs by filter (store/failed/failed-sweep.ts) for a command: a
 * progress bar on stderr on a terminal, a plain line per page in a pipe or a log, and the
 * summary on stdout. A run another process is working is not started twice; one that was
 * killed continues where it stopped.
 */
import type { FailedFilter, FailedStore } from '../store/driver.ts';
import { FailedSweeps, type SweepAction, type SweepRun } from '../store/failed/failed-sweep.ts';
import type { RecordStore } from '../store/record-store.ts';
import type { Clock } from '../infra/clock.ts';

const VERB = { retry: 'Retrying', forget: 'Forgetting' } as const;

/** `key`: what the person typed, so the same command names the same run (see FailedSweeps.idOf). */
export async function runSweep(store: FailedStore & RecordStore, clock: Clock, action: SweepAction, filter: FailedFilter, what: string, key?: string): Promise<SweepRun | null> {
  const sweeps = new FailedSweeps(store, clock);
  const started = await sweeps.start(action, filter, key);
  if (started.busy) {
    const b = started.busy;
    console.error(`This ${action} of ${what} is already running in another process (${b.handled} of ${b.total} handled); it continues there.`);
    process.exitCode = 1;
    return null;
  }
  let run = started.run;
  if (started.resumed) console.error(`Continuing the ${action} of ${what} stopped at ${run.handled} of ${run.total}.`);
  if (action === 'retry' && run.total === 0 && run.handled === 0) {
    await sweeps.work(run);
    console.log('No failed jobs.');
    return run;
  }
  const bar = process.stderr.isTTY
    ? new (await import('cli-progress')).SingleBar({ format: `${VERB[action]} failed jobs [{bar}] {percentage}% {value}/{total} {eta_formatted} left`, stream: process.stderr, hideCursor: true })
    : null;
  bar?.start(Math.max(run.total, run.handled), run.handled);
  try {
    run = await sweeps.work(run, (r) => {
      if (bar) {
        bar.setTotal(Math.max(r.total, r.handled));
        bar.update(r.handled);
      } else console.error(`${VERB[action]} failed jobs: ${r.handled} of ${r.total}`);
    });
  } finally {
    bar?.stop();
  }
  if (action === 'retry') {
    console.log(`Queued ${run.retried} failed job${run.retried === 1 ? '' : 's'} again.`);
    if (run.overlapping > 0) console.log(`${run.overlapping} left failed: a job with their overlap key is pending or running.`);
  } else console.log(`Deleted ${run.forgotten} failed job${run.forgotten === 1 ? '' : 's'}.`);
  return run;
}
