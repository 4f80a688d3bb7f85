/**
 * Job events: `Job.on('completed' | 'failed' | 'retrying' | 'released' | 'skipped' | 'cancelled', listener)`, registered in
 * application/events.ts, told of every recorded outcome (settle's `observe`) in the process that
 * ran the job. Attempts the process manager settles (a timeout kill, a crashed process) are
 * forwarded to a live worker process, which fires them there (owed-hooks.ts): the manager never
 * runs application code. A listener's error or rejection is logged and never changes the job's
 * outcome. With no listener, an outcome costs one Map lookup.
 */
import type { ReservedJob } from '../store/driver.ts';
import { coerceError } from '../infra/errors.ts';
import type { Logger } from '../infra/logger.ts';
import { decodePayload, type Payload } from './payload.ts';
import type { Settled } from '../worker/settle.ts';

export type JobEventName = 'completed' | 'failed' | 'retrying' | 'released' | 'skipped' | 'cancelled';

export interface JobEvent {
  event: JobEventName;
  job: { id: string; name: string; queue: string; attempt: number; payload: Payload };
  /** How long the attempt ran, in ms. */
  durationMs: number;
  /** The attempt's error (failed, retrying). */
  error?: Error;
  /** When the job is due again (retrying, released), epoch ms. */
  retryAt?: number;
  /** Why it was not run (skipped): 'skipIf', 'its batch was cancelled', a middleware that did not call next(). */
  why?: string;
}

export type JobEventListener = (event: JobEvent) => unknown;

const EVENT_OF: Partial<Record<Settled['kind'], JobEventName>> = { done: 'completed', failed: 'failed', retried: 'retrying', released: 'released', skipped: 'skipped', cancelled: 'cancelled' };
const NAMES = new Set<string>(Object.values(EVENT_OF));

/** One table per process, shared by the ES-module and CommonJS builds (as events.ts does). */
const SHARED = Symbol.for('rakit.jobs.job-events');
const table: Map<JobEventName, JobEventListener[]> = ((globalThis as Record<symbol, unknown>)[SHARED] as Map<JobEventName, JobEventListener[]> | undefined)
  ?? ((globalThis as Record<symbol, unknown>)[SHARED] = new Map<JobEventName, JobEventListener[]>());

/** Adds a listener (`Job.on`). */
export function onJobEvent(event: JobEventName, listener: JobEventListener): void {
  if (!NAMES.has(event)) throw new TypeError(`Job.on("${String(event)}"): the event must be one of ${[...NAMES].join(', ')}`);
  if (typeof listener !== 'function') throw new TypeError(`Job.on("${event}"): the listener must be a function`);
  table.set(event, [...(table.get(event) ?? []), listener]);
}

/** Removes the listeners of `event` (all when omitted). */
export function forgetJobEvents(event?: JobEventName): void {
  if (event === undefined) table.clear();
  else table.delete(event);
}

/** Settle's `observe` for a process that runs job code: fires the listeners of each outcome. */
export function jobEventObserver(logger: Logger): (job: ReservedJob, settled: Settled, ms: number, error: Error | null) => void {
  return (job, settled, ms, error) => {
    const name = EVENT_OF[settled.kind];
    const listeners = name && table.get(name);
    if (!listeners || listeners.length === 0) return;
    void fire(logger, listeners, eventOf(name, job, settled, ms, error));
  };
}

/** Fires the listeners of an outcome the process manager recorded; resolves once they have run. */
export async function fireJobEvent(logger: Logger, job: ReservedJob, settled: Settled, ms: number, error: Error | null): Promise<void> {
  const name = EVENT_OF[settled.kind];
  const listeners = name && table.get(name);
  if (listeners && listeners.length > 0) await fire(logger, listeners, eventOf(name, job, settled, ms, error));
}

function eventOf(event: JobEventName, job: ReservedJob, settled: Settled, ms: number, error: Error | null): JobEvent {
  let payload: Payload;
  try {
    payload = decodePayload(job.payload);
  } catch {
    payload = {};
  }
  return {
    event,
    job: { id: job.id, name: job.name, queue: job.queue, attempt: job.attempts, payload },
    durationMs: ms,
    ...(error && (event === 'failed' || event === 'retrying') ? { error } : {}),
    ...('at' in settled ? { retryAt: settled.at } : {}),
    ...('why' in settled ? { why: settled.why } : {}),
  };
}

async function fire(logger: Logger, listeners: readonly JobEventListener[], event: JobEvent): Promise<void> {
  for (const listener of listeners) {
    try {
      await listener(event);
    } catch (thrown) {
      logger.error({ id: event.job.id, job: event.job.name, event: event.event, err: coerceError(thrown) }, `A Job.on('${event.event}') listener threw (job ${event.job.name}, id ${event.job.id}); the job's outcome stands`);
    }
  }
}
