/**
 * Settles an attempt: the one place that records how it ended, for the worker and the process
 * manager alike. Done: acked. Failed: retried after its backoff, or moved to the failed store
 * and its class's `failed()` hook run on a job object with its real id, queue, attempt and
 * payload, with the real error (thrown, TimeoutError, or the death of its process). Given back:
 * released without counting the attempt (a forced stop, a bystander of a killed process, a
 * hold-back). Skipped (never run on purpose): acked as done is, but logged and counted apart.
 * Cancelled (from outside, once its code stopped): acked, kept as cancelled, not counted in the
 * metrics (neither done nor failed nor retried).
 */
import type { Clock } from '../infra/clock.ts';
import type { Driver, FullDriver, ReservedJob } from '../store/driver.ts';
import { TimeoutError, WorkerDiedError, coerceError } from '../infra/errors.ts';
import type { AttemptPlan } from './job-policy.ts';
import type { Logger } from '../infra/logger.ts';
import type { MetricsCollector } from '../store/metrics-collector.ts';
import { decodePayload, type Payload } from '../api/payload.ts';
import type { Registry } from '../api/registry.ts';
import type { JobResults } from '../store/job-results.ts';
import { throughOutage } from '../store/retry.ts';
import { splitLane } from '../store/claims/lanes.ts';

export type Settlement =
  /** `value`: what run() returned, kept as the job's result before the ack (job-results.ts). */
  | { kind: 'done'; value?: unknown }
  /** Not run on purpose (skipIf, a middleware, a cancelled batch): acked; `why` ends the log line. */
  | { kind: 'skip'; why: string }
  /**
   * Given back uncounted, due again at `at` (now when absent); `why` ends the log line, at debug
   * when `routine` (a limit's hold-back), at info for another hold-back, a warning without `at`.
   */
  | { kind: 'release'; why: string; at?: number; routine?: boolean }
  /** `final`: no retry can help, whatever tries are left. */
  | { kind: 'failure'; error: Error; final: boolean }
  /** Cancelled from outside once its code stopped (or its process was killed): acked, neither failed nor retried; `how` ends the log line. */
  | { kind: 'cancel'; how: string };

/** `at`: when a released or retried job is due again. */
export type Settled = { kind: 'done' | 'failed' | 'lost' | 'cancelled' } | { kind: 'skipped'; why: string } | { kind: 'released' | 'retried'; at: number };

export interface SettleDeps {
  driver: Pick<Driver, 'ack' | 'release' | 'fail'> & Pick<FullDriver, 'getJob' | 'getFailed'>;
  clock: Clock;
  logger: Logger;
  /** Records a done job (the worker batches these); `driver.ack` otherwise. */
  ack?(job: ReservedJob): Promise<boolean>;
  /** Runs, or has a worker process run, the failed() hook of a job now in the failed store. */
  failedHook(job: ReservedJob, error: Error): Promise<void> | void;
  /** Counts each attempt that ended done, retried or failed (metrics-collector.ts); absent with `metrics: false`. */
  metrics?: Pick<MetricsCollector, 'record'> | null;
  /**
   * What must be in the store before a job's final outcome is recorded (src/flows/): a
   * chain's next job made due, a batch's counts. It runs again when the job runs again (a crash
   * between it and the ack), so it must be idempotent. Absent: no job is in a workflow. A job that
   * `concerns` says is in none is settled without it: no await, no round trip.
   */
  flows?: { concerns(job: ReservedJob): boolean; beforeFinal(job: ReservedJob, outcome: 'done' | 'failed' | 'cancelled', error: Error | null): Promise<void> } | null;
  /** Keeps results, final failures and cancels for job:show and Job.result(); absent when none are kept. */
  results?: Pick<JobResults, 'keepValue' | 'keepFailure' | 'keepCancelled'> | null;
  /** Told of every recorded outcome, after it is recorded (the job events, src/api/job-events.ts). */
  observe?(job: ReservedJob, settled: Settled, ms: number, error: Error | null): void;
}

/** The fields of every log line about an attempt's outcome. */
export function attemptFields(job: ReservedJob, ms: number): { id: string; job: string; queue: string; group?: string; attempt: number; ms: number } {
  const { queue, group } = splitLane(job.queue);
  return group === null ? { id: job.id, job: job.name, queue, attempt: job.attempts, ms } : { id: job.id, job: job.name, queue, group, attempt: job.attempts, ms };
}

/** The text the failed store keeps: `ErrorClass: message` and the stack. */
export function describeFailure(error: Error): string {
  const head = `${error.name}: ${error.message}`;
  const stack = error.stack ?? '';
  return stack.startsWith(head) ? stack : `${head}\n${stack.split('\n').slice(1).join('\n')}`.trimEnd();
}

/** Records how an attempt of `ms` (its runtime, ending now) ended, and counts it in the metrics. */
export async function settle(deps: SettleDeps, job: ReservedJob, settlement: Settlement, plan: Pick<AttemptPlan, 'final' | 'backoffMs' | 'tries'>, ms: number): Promise<Settled> {
  const endedAt = deps.clock.now();
  const settled = await record(deps, job, settlement, plan, ms);
  deps.observe?.(job, settled, ms, settlement.kind === 'failure' ? settlement.error : null);
  if (deps.metrics && (settled.kind === 'done' || settled.kind === 'retried' || settled.kind === 'failed')) deps.metrics.record(job, settled.kind, endedAt - ms, endedAt);
  return settled;
}

async function record(deps: SettleDeps, job: ReservedJob, settlement: Settlement, plan: Pick<AttemptPlan, 'final' | 'backoffMs' | 'tries'>, ms: number): Promise<Settled> {
  const { driver, clock, logger } = deps;
  const fields = attemptFields(job, ms);
  if (settlement.kind === 'done' || settlement.kind === 'skip') {
    // A skipped job is final too: a chain moves on, a batch counts it.
    if (deps.flows?.concerns(job)) await throughOutage(() => deps.flows!.beforeFinal(job, 'done', null), clock);
    if (settlement.kind === 'done' && settlement.value !== undefined && deps.results) {
      const { value } = settlement;
      await throughOutage(() => deps.results!.keepValue(job.id, value, clock.now()), clock);
    }
    const held = await (deps.ack ? deps.ack(job) : throughOutage(() => driver.ack(job), clock));
    if (!held) {
      logger.warn(fields, `Job ${settlement.kind === 'done' ? 'executed' : 'skipped'}: ${job.name}, but its lease had lapsed and another worker holds it`);
      return { kind: 'lost' };
    }
    if (settlement.kind === 'done') {
      if (logger.isLevelEnabled('info')) logger.info({ ...fields, status: 'DONE' }, `Job executed: ${job.name} (attempt ${job.attempts})`);
      return { kind: 'done' };
    }
    logger.info({ ...fields, status: 'SKIPPED', why: settlement.why }, `Job skipped: ${job.name} (${settlement.why})`);
    return { kind: 'skipped', why: settlement.why };
  }
  if (settlement.kind === 'cancel') return recordCancel(deps, job, settlement.how, fields);
  if (settlement.kind === 'release') {
    const at = settlement.at ?? clock.now();
    if (!(await throughOutage(() => driver.release(job, { at, countAttempt: false }), clock))) return { kind: 'lost' };
    // Held back on purpose: not a warning. A limit's hold-backs are routine and many (a job may be
    // held back several times before its turn): debug; Job.on('released') still tells each one.
    if (settlement.at === undefined) logger.warn({ ...fields, status: 'RELEASED' }, `Job released: ${job.name} (${settlement.why})`);
    else {
      const level = settlement.routine ? 'debug' : 'info';
      if (logger.isLevelEnabled(level)) logger[level]({ ...fields, status: 'RELEASED', dueAt: new Date(at).toISOString() }, `Job released: ${job.name} (${settlement.why})`);
    }
    return { kind: 'released', at };
  }
  const { error } = settlement;
  if (!settlement.final && !plan.final) {
    const at = clock.now() + plan.backoffMs;
    if (!(await throughOutage(() => driver.release(job, { at, countAttempt: true }), clock))) return { kind: 'lost' };
    logger.warn({ ...fields, status: 'RETRY', err: error.message, retryAt: new Date(at).toISOString() },
      `Job retry: ${job.name} (attempt ${job.attempts} of ${plan.tries} failed: ${error.message})`);
    return { kind: 'retried', at };
  }
  if (deps.flows?.concerns(job)) await throughOutage(() => deps.flows!.beforeFinal(job, 'failed', error), clock);
  if (deps.results) await throughOutage(() => deps.results!.keepFailure(job.id, error, clock.now()), clock);
  if (!(await throughOutage(() => driver.fail(job, { exception: describeFailure(error) }), clock))) {
    logger.warn(fields, `Job failed: ${job.name}, but its lease had lapsed and another worker holds it`);
    return { kind: 'lost' };
  }
  logger.error({ ...fields, status: 'FAIL', err: error.message }, `Job failed: ${job.name} (after ${job.attempts} attempts): ${error.message}`);
  await deps.failedHook(job, error);
  return { kind: 'failed' };
}

/**
 * A cancelled attempt whose code has stopped: its workflow moves on as for a cancelled pending job
 * (a chain's rest is dropped, a batch counts it skipped), its cancel is kept, and it is acked at
 * once (not batched), which frees its overlap key.
 */
async function recordCancel(deps: SettleDeps, job: ReservedJob, how: string, fields: ReturnType<typeof attemptFields>): Promise<Settled> {
  const { clock, logger } = deps;
  if (deps.flows?.concerns(job)) await throughOutage(() => deps.flows!.beforeFinal(job, 'cancelled', null), clock);
  if (deps.results) await throughOutage(() => deps.results!.keepCancelled(job.id, how, clock.now()), clock);
  if (!(await throughOutage(() => deps.driver.ack(job), clock))) {
    logger.warn(fields, `Job cancelled: ${job.name}, but its lease had lapsed and another worker holds it`);
    return { kind: 'lost' };
  }
  logger.warn({ ...fields, status: 'CANCELLED' }, `Job cancelled: ${job.name} (${how})`);
  return { kind: 'cancelled' };
}

/** Runs the failed() hook of `job`'s class, if it has one, on a job object as its last attempt saw it. */
export async function runFailedHook(registry: Registry, logger: Logger, job: ReservedJob, error: Error): Promise<void> {
  const handler = registry.resolve(job.name);
  if (handler?.kind !== 'class' || typeof handler.jobClass.prototype.failed !== 'function') return;
  try {
    const instance = new handler.jobClass(safeDecode(job.payload), { id: job.id, queue: job.queue, attempt: job.attempts, signal: AbortSignal.abort() });
    await instance.failed!(error);
  } catch (thrown) {
    logger.error({ ...attemptFields(job, 0), err: coerceError(thrown) }, `The failed() hook of ${job.name} threw`);
  }
}

/** An error as it crosses from the manager to the worker process that runs the failed() hook. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  exitCode?: number | null;
  signal?: string | null;
}

export function errorToWire(error: Error): WireError {
  const died = error instanceof WorkerDiedError ? { exitCode: error.exitCode, signal: error.signal } : {};
  return { name: error.name, message: error.message, stack: error.stack, ...died };
}

/** The error again, of its class where rakit defines it (TimeoutError, WorkerDiedError). */
export function errorFromWire(wire: WireError): Error {
  const error = wire.name === 'TimeoutError' ? new TimeoutError(wire.message)
    : wire.name === 'WorkerDiedError' ? new WorkerDiedError(wire.exitCode ?? null, wire.signal ?? null, wire.message)
      : Object.assign(new Error(wire.message), { name: wire.name });
  if (wire.stack) error.stack = wire.stack;
  return error;
}

/** The payload for the failed() hook; a corrupt one (the reason for the failure) reads as {}. */
function safeDecode(text: string): Payload {
  try {
    return decodePayload(text);
  } catch {
    return {};
  }
}
