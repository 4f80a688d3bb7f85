/**
 * Group commit of batch counts within one process: the outcomes of a batch's jobs that settle
 * while a write to that batch's record is in flight are written together in the next one, so a
 * worker running many jobs of one batch at once makes one compare-and-set for all of them, and
 * the racers on a batch's record are the processes, not every job slot. Each settler's promise
 * resolves once its own outcome is stored and the callbacks it made due are promoted.
 */
import { withOutcome, type JobOutcome } from './batch-record.ts';
import { finishIfDone, runCallbacks, type FlowStore } from './batch-settle.ts';
import { updateBatch } from './batch-store.ts';

interface Waiting {
  i: number;
  outcome: JobOutcome;
  resolve(): void;
  reject(error: unknown): void;
}

export class BatchGroups {
  private readonly groups = new Map<string, Waiting[]>();

  constructor(private readonly store: FlowStore, private readonly now: () => number) {}

  /** Counts job `i` of batch `id` as `outcome` (with whichever others settle meanwhile) and runs the callbacks now due. */
  settle(id: string, i: number, outcome: JobOutcome): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiting = this.groups.get(id);
      if (waiting) return void waiting.push({ i, outcome, resolve, reject });
      this.groups.set(id, [{ i, outcome, resolve, reject }]);
      void this.drain(id);
    });
  }

  private async drain(id: string): Promise<void> {
    const waiting = this.groups.get(id)!;
    while (waiting.length > 0) {
      const group = waiting.splice(0);
      try {
        const record = await updateBatch(this.store, id, (current) => {
          let next = current;
          for (const { i, outcome } of group) next = withOutcome(next, i, outcome) ?? next;
          if (next === current) return null;
          if (next.cancelledAt === null && !next.allowFailures && group.some((w) => w.outcome === 'failed')) next = { ...next, cancelledAt: this.now() };
          return finishIfDone(next, this.now());
        });
        if (record) await runCallbacks(this.store, record);
        for (const w of group) w.resolve();
      } catch (error) {
        for (const w of group) w.reject(error);
      }
    }
    this.groups.delete(id);
  }
}
