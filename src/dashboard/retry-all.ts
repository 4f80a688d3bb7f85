/**
 * Retrying every failed job a filter matches, from the dashboard: a run of store/failed/failed-sweep.ts
 * worked in the background of the dashboard process, its progress in the store's records. A
 * dashboard that restarts finds the run there and, when the page is opened, continues it.
 */
import type { FailedFilter, FailedStore } from '../store/driver.ts';
import { FailedSweeps, type SweepRun } from '../store/failed/failed-sweep.ts';
import type { RecordStore } from '../store/record-store.ts';
import type { Clock } from '../infra/clock.ts';

export class RetryRuns {
  private readonly sweeps: FailedSweeps;

  constructor(store: FailedStore & RecordStore, clock: Clock) {
    this.sweeps = new FailedSweeps(store, clock);
  }

  /** Starts retrying in the background (or finds the run already going); its id at once. */
  async start(filter: FailedFilter): Promise<string> {
    const started = await this.sweeps.start('retry', filter);
    if (started.busy) return started.busy.id;
    this.work(started.run);
    return started.run.id;
  }

  /** The run as far as it got; one that stalled (its process stopped) is continued here. */
  async get(id: string): Promise<SweepRun | null> {
    const run = await this.sweeps.get(id);
    if (!run?.id.startsWith('retry-') || !this.sweeps.stalled(run)) return run?.id.startsWith('retry-') ? run : null;
    const taken = await this.sweeps.takeOver(run);
    if (taken) this.work(taken);
    return taken ?? run;
  }

  private work(run: SweepRun): void {
    // An error is kept on the run (its page shows it); opening the page again continues it.
    void this.sweeps.work(run).catch(() => undefined);
  }
}
