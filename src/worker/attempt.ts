/**
 * Runs one attempt of one claimed job and says how it ended: done, or failed with an error
 * (and whether retrying can help). Resolves the handler, decodes the payload, enforces the
 * timeout through the job's AbortSignal, and lasts until the job's code has really ended: a
 * timed-out attempt whose code ignores its signal holds on (its process is killed by the
 * manager KILL_GRACE_MS later; `onStuck` says so). It never touches the driver.
 *
 * An attempt costs what the job uses: its AbortSignal is made only if job code reads
 * `this.signal`, and a job whose run() returns no promise is not raced against anything.
 */
import type { AttemptControls } from './attempt-controls.ts';
import { systemClock, type Clock } from '../infra/clock.ts';
import type { ReservedJob } from '../store/driver.ts';
import { TimeoutError, UnrecoverableError, coerceError } from '../infra/errors.ts';
import type { Listener } from '../api/events.ts';
import type { JobContext } from '../api/job-types.ts';
import { decodePayload } from '../api/payload.ts';
import type { Handler } from '../api/registry.ts';
import { KILL_GRACE_MS } from './job-policy.ts';
import { middlewareOf, runThrough } from '../middleware/pipeline.ts';
import type { RecordStore } from '../store/record-store.ts';

export type AttemptOutcome =
  /** `value`: what run() returned, when anything (kept as the job's result, job-results.ts). */
  | { status: 'done'; value?: unknown }
  /** Held back by the job or its middleware (`release`): due again at `at`, the attempt not counted. */
  | { status: 'released'; at: number; why: string; routine: boolean }
  /** Not run, on purpose (skipIf, a middleware that did not call next(), a cancelled batch): acked, not counted as done. */
  | { status: 'skipped'; why: string }
  /** `final`: no retry can help (no handler, corrupt payload, UnrecoverableError). */
  | { status: 'error'; error: Error; final: boolean };

export class ShutdownAbort extends Error {
  constructor() {
    super('The worker was forced to stop');
    this.name = 'ShutdownAbort';
  }
}

const DONE: AttemptOutcome = { status: 'done' };

/**
 * A running attempt that can be cut short from outside: by its timeout, a cancel (CancelledError)
 * or a forced stop.
 * Cutting aborts its signal and fixes its outcome, but the attempt lasts until its code has
 * really ended (or the worker gives up on that code: `abandon`, at a forced stop), so it keeps
 * its slot, its overlap key and its lease meanwhile. It is also the context the job instance
 * gets (id, queue, attempt, signal).
 */
export class Attempt implements JobContext, AttemptControls {
  private controller: AbortController | null = null;
  private reason: Error | null = null;
  private rejectRace: ((reason: Error) => void) | null = null;
  private gaveUp: Error | null = null;
  readonly id: string;
  readonly queue: string;
  readonly attempt: number;
  /** Set by `release()` or `skip()`: how the attempt ends when its code returns (done otherwise). */
  ended: Extract<AttemptOutcome, { status: 'released' | 'skipped' }> | null = null;
  progressVersion: string | null = null;

  constructor(readonly job: ReservedJob, readonly records: RecordStore | null = null, readonly clock: Clock = systemClock) {
    this.id = job.id;
    this.queue = job.queue;
    this.attempt = job.attempts;
  }

  holdUntil(at: number, why: string, routine = false): void {
    this.ended = { status: 'released', at, why, routine };
  }

  skip(why: string): void {
    this.ended ??= { status: 'skipped', why };
  }

  /** The job's signal, made when job code first asks for it (aborted already if the attempt was cut). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Why the attempt was cut short, if it was. */
  get cutReason(): Error | null {
    return this.reason;
  }

  /** Whether the worker stopped waiting for this attempt's code. */
  get abandoned(): boolean {
    return this.gaveUp !== null;
  }

  /** Fixes the attempt's outcome as `reason` and aborts its signal; its code may still run. */
  cut(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  /** Stops waiting for the attempt's code (a forced stop that its code ignores): the attempt ends now. */
  abandon(reason: Error): void {
    this.cut(reason);
    if (this.gaveUp) return;
    this.gaveUp = reason;
    this.rejectRace?.(reason);
  }

  /** Rejects once the attempt is abandoned. */
  givenUp(): Promise<never> {
    if (this.gaveUp) return Promise.reject(this.gaveUp);
    return new Promise<never>((_, reject) => (this.rejectRace = reject));
  }
}

/** Called when an attempt's code is still running KILL_GRACE_MS after its timeout. */
export type OnStuck = (job: ReservedJob, timeoutMs: number) => void;

export async function runAttempt(job: ReservedJob, handler: Handler | null, timeoutMs: number, clock: Clock, attempt: Attempt, onStuck?: OnStuck): Promise<AttemptOutcome> {
  if (!handler) {
    return { status: 'error', final: true, error: new UnrecoverableError(`No handler for job "${job.name}": no class in application/jobs and no listener for "rakit.jobs.run: ${job.name}"`) };
  }
  let payload;
  try {
    payload = decodePayload(job.payload);
  } catch (error) {
    return { status: 'error', final: true, error: new UnrecoverableError(`Corrupt stored payload: ${coerceError(error).message}`) };
  }
  let cancelStuck: () => void = NOOP;
  const cancelTimer = clock.after(timeoutMs, () => {
    attempt.cut(new TimeoutError(`Job "${job.name}" (id ${job.id}) ran past its timeout of ${timeoutMs / 1000} s`));
    if (onStuck) cancelStuck = clock.after(KILL_GRACE_MS, () => onStuck(job, timeoutMs));
  });
  try {
    let work: unknown;
    if (handler.kind === 'class') {
      const instance = new handler.jobClass(payload, attempt);
      const middleware = middlewareOf(handler.jobClass);
      work = middleware ? runThrough(middleware, instance, attempt) : instance.run();
    } else work = runListeners(handler.listeners, payload);
    // A job's code ends when its promise settles, not when its signal aborts: until then the
    // attempt holds its slot (a forced stop may give up on it, see `abandon`).
    let value = work;
    if (isThenable(work)) {
      const running = Promise.resolve(work);
      running.catch(() => undefined);
      value = await Promise.race([running, attempt.givenUp()]);
    }
    if (attempt.cutReason) return { status: 'error', error: attempt.cutReason, final: false };
    // A listener's value is not a result: only a class's run() has one.
    return attempt.ended ?? (value === undefined || handler.kind !== 'class' ? DONE : { status: 'done', value });
  } catch (thrown) {
    // Cut short (timeout, forced stop): that is the outcome, whatever the code threw on its way out.
    const error = attempt.cutReason ?? coerceError(thrown);
    return { status: 'error', error, final: error instanceof UnrecoverableError };
  } finally {
    cancelTimer();
    cancelStuck();
  }
}

const NOOP = () => undefined;

async function runListeners(listeners: readonly Listener[], payload: unknown): Promise<void> {
  for (const listener of listeners) await listener(payload);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
