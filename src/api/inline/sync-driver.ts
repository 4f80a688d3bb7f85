/**
 * The `sync` driver (`driver: 'sync'`, `JOB_DRIVER=sync`), for local development and tests: a
 * dispatch runs its jobs in the dispatching process before it resolves, through the worker's own
 * loop (worker/worker.ts), so middleware, tries, `failed()`, chains and batches are a worker's.
 * The jobs wait in a store in memory (drivers/database/memory-database.ts) for nothing else.
 * Its rules (docs/decisions.md): a delay, a retry's backoff and a hold-back are not waited for
 * (the skipping clock, infra/clock.ts); a final failure rejects the dispatch that stored the job,
 * once its failed() hook and its workflow's catch job have run; dispatches made together run one
 * after another; a dispatch made by a running job runs inside it; jobs added to a batch by one of
 * its jobs (not a dispatch) run later in the same loop.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { noteStored, useScopes, type RunStored } from '../dispatch-scope.ts';
import { isHeld } from '../../flows/held.ts';
import type { FullDriver, NewJob, PushResult } from '../../store/driver.ts';
import { Worker } from '../../worker/worker.ts';
import type { WorkerDeps } from '../../worker/worker-hooks.ts';
import { DEFAULT_WORKER_OPTIONS } from '../../worker/worker-options.ts';
import { overriding } from './overriding.ts';

/** The runtime's driver in sync mode: `deps.driver` (the memory store) whose pushes are run at dispatch. */
export function syncDriver(deps: Omit<WorkerDeps, 'hooks'>): FullDriver {
  useScopes();
  const base = deps.driver;
  const failures = new Map<string, { error: Error; seq: number }>();
  let seq = 0;
  /** Set inside a run: a dispatch made there (by a job, a listener) runs at once, inside it. */
  const inside = new AsyncLocalStorage<true>();
  let turn: Promise<unknown> = Promise.resolve();
  let waiting = 0;

  const work = async (ids: readonly string[]): Promise<void> => {
    const worker = new Worker({
      ...deps,
      driver,
      config: { ...deps.config, metrics: false },
      hooks: {
        reportedBySupervisor: true,
        settled: (job, settled, error) => {
          if (settled.kind === 'failed' && error) failures.set(job.id, { error, seq: seq++ });
        },
      },
    }, { ...DEFAULT_WORKER_OPTIONS, sleepMs: deps.config.sleep_ms, stopWhenEmpty: true });
    await worker.run();
    let first: { error: Error; seq: number } | null = null;
    for (const id of ids) {
      const failure = failures.get(id);
      if (!failure) continue;
      failures.delete(id);
      if (!first || failure.seq < first.seq) first = failure;
    }
    if (first) throw first.error;
  };

  const run: RunStored = (ids) => {
    if (inside.getStore()) return work(ids);
    waiting++;
    const mine = turn.then(() => inside.run(true, () => work(ids)));
    turn = mine.catch(() => undefined);
    return mine.finally(() => {
      // No dispatch left to claim a failure: forget those of jobs whose dispatcher has gone.
      if (--waiting === 0) failures.clear();
    });
  };

  /** Due now unless held by its workflow: the sync driver does not wait out a delay. */
  const now = (job: NewJob): NewJob => (isHeld(job.scheduledAt) || job.scheduledAt <= deps.clock.now() ? job : { ...job, scheduledAt: deps.clock.now() });
  const noted = (results: PushResult[]): PushResult[] => {
    const ids = results.flatMap((r) => (r.id === undefined ? [] : [r.id]));
    if (ids.length > 0) noteStored(ids, run);
    return results;
  };

  const driver: FullDriver = overriding(base, {
    description: 'sync (jobs run at dispatch, in this process)',
    push: async (job) => noted([await base.push(now(job))])[0]!,
    pushMany: async (jobs) => noted(await base.pushMany(jobs.map(now))),
  });
  return driver;
}
