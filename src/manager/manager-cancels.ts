/**
 * Cancel requests as the process manager handles them for its worker processes: it reads them
 * (cancel-requests.ts) while any of its processes runs a job, tells the process that runs a
 * cancelled job (which aborts the job's signal), and brings that job's kill deadline forward to
 * KILL_GRACE_MS from now, so code that ignores its signal is killed as a timed-out one is. The
 * manager reads for its processes so that one whose job blocks its event loop is killed too.
 */
import type { Clock } from '../infra/clock.ts';
import type { Logger } from '../infra/logger.ts';
import { CancelWatch } from '../store/cancel-requests.ts';
import type { RecordStore } from '../store/record-store.ts';
import { KILL_GRACE_MS } from '../worker/job-policy.ts';
import type { WorkerChild } from './worker-child.ts';

export function watchCancels(children: ReadonlySet<WorkerChild>, deps: { driver: Pick<RecordStore, 'listRecords'>; logger: Logger; clock: Clock }): CancelWatch {
  const find = (id: string) => {
    for (const child of children) {
      const running = child.running.get(id);
      if (running) return { child, running };
    }
    return null;
  };
  return new CancelWatch(deps.driver, deps.logger, {
    holds: (id) => find(id) !== null,
    get busy() {
      for (const child of children) if (child.running.size > 0) return true;
      return false;
    },
    cancel(id) {
      const found = find(id);
      // Its deadline is Infinity once its code has ended: its outcome stands, and is being recorded.
      if (!found || found.running.cancelled || found.running.deadline === Infinity) return;
      const { child, running } = found;
      running.cancelled = true;
      running.deadline = Math.min(running.deadline, deps.clock.now() + KILL_GRACE_MS);
      deps.logger.info({ childPid: child.pid, id }, `Job ${id} was cancelled: asking worker process ${child.pid} to stop it`);
      child.send({ type: 'cancel', id });
    },
  });
}
