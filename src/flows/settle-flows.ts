/**
 * The flows as the worker and the manager see them: `admit` before an attempt (a job of a
 * cancelled batch is not run, only counted; a batch job's context is bound to its batch for
 * `this.batch()`), and `beforeFinal`, settle's seam (settle.ts), which moves a chain on or counts
 * a batch job before the job's final outcome is recorded. A job in no workflow costs one
 * `startsWith` (`concerns`), and neither is awaited for it.
 */
import type { ReservedJob } from '../store/driver.ts';
import { coerceError } from '../infra/errors.ts';
import type { Logger } from '../infra/logger.ts';
import type { Clock } from '../infra/clock.ts';
import { openBatch, type Batch } from './batches/batch-handle.ts';
import { readBatch } from './batches/batch-store.ts';
import type { FlowStore } from './batches/batch-settle.ts';
import { BatchGroups } from './batches/batch-group.ts';
import { settleChainJob } from './chain.ts';
import { inWorkflow, readFlow } from './envelope.ts';
import { drop } from './held.ts';
import { bindBatch } from './job-context.ts';
import { mayRunOutboxJob } from './outbox/outbox-runs.ts';
import { mayStartDebounced } from './dedup.ts';
import type { FlowEnv } from './job-spec.ts';

export interface FlowDeps {
  driver: FlowStore;
  clock: Clock;
  logger: Logger;
  /** Needed by `this.batch()` (a worker has them; the manager, which only settles, does not). */
  registry?: FlowEnv['registry'];
  config?: FlowEnv['config'];
}

export class Flows {
  /**
   * Claims of batch jobs admitted as "not run" (job id and claim token: a store may give every job
   * of one claim the same token): their done is counted as skipped.
   */
  private readonly skipped = new Set<string>();

  private readonly groups: BatchGroups;

  constructor(private readonly store: FlowStore, private readonly deps: FlowDeps) {
    this.groups = new BatchGroups(store, () => deps.clock.now());
  }

  /** Whether `job` is in a workflow: only then must `admit` and `beforeFinal` run (and be awaited). */
  concerns(job: ReservedJob): boolean {
    return inWorkflow(job.payload);
  }

  /**
   * True, or why the job must not run: its batch was cancelled (the batch counts it as skipped),
   * or it is a second copy of an outbox job (src/outbox/outbox-runs.ts). The worker settles it as skipped.
   */
  async admit(job: ReservedJob, context: object): Promise<true | string> {
    const flow = readFlow(job.payload);
    if (flow?.outbox && !(await mayRunOutboxJob(this.store, flow.outbox, job.id))) return 'a copy of an outbox job another job already runs';
    // At its first attempt only: a retry of a job that started runs whatever was dispatched since.
    if (flow?.debounce && job.attempts === 1) {
      const may = await mayStartDebounced(this.store, flow.debounce, job.id);
      if (may !== true) return may;
    }
    // The first attempt frees it: by a retry's time a new dispatch may hold the key.
    if (flow?.unlock && job.overlapKey !== null && job.attempts === 1) await this.store.releaseOverlapLock(job.overlapKey);
    if (!flow?.batch) return true;
    const id = flow.batch;
    bindBatch(context, () => this.open(id));
    if (flow.i === undefined) return true;
    try {
      const record = await readBatch(this.store, id);
      if (record?.cancelledAt == null) return true;
    } catch (error) {
      this.deps.logger.warn({ err: coerceError(error), batch: id }, `Cannot read batch ${id}; running job ${job.name} (id ${job.id})`);
      return true;
    }
    this.skipped.add(claimOf(job));
    // Settled as skipped, logged there: "Job skipped: NAME (its batch was cancelled)".
    return 'its batch was cancelled';
  }

  /** settle.ts's seam: idempotent, runs again if the job runs again. */
  async beforeFinal(job: ReservedJob, outcome: 'done' | 'failed' | 'cancelled'): Promise<void> {
    const flow = readFlow(job.payload);
    if (!flow) return;
    // A running job cancelled ends its workflow as a pending one cancelled does (cancel-job.ts).
    if (flow.chain) {
      if (outcome === 'cancelled') await drop(this.store, flow.chain.next, ...flow.chain.rest, flow.chain.catch);
      else await settleChainJob(this.store, flow.chain, outcome);
    }
    if (flow.batch && flow.i !== undefined) {
      const skipped = this.skipped.delete(claimOf(job));
      await this.groups.settle(flow.batch, flow.i, (outcome === 'done' && skipped) || outcome === 'cancelled' ? 'skipped' : outcome);
    }
  }

  private open(id: string): Promise<Batch | null> {
    const { registry, config } = this.deps;
    if (!registry || !config) return Promise.resolve(null);
    return openBatch({ driver: this.store as FlowEnv['driver'], registry, config, clock: this.deps.clock, logger: this.deps.logger }, id);
  }
}

function claimOf(job: ReservedJob): string {
  return `${job.id}\n${job.token}`;
}

/** The flows over this driver's records. */
export function flowsOf(deps: FlowDeps): Flows {
  return new Flows(deps.driver, deps);
}
