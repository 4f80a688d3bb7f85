/**
 * Runs one attempt of one claimed job and says how it ended: done, or failed with an error
 * (and whether retrying can help). Resolves the handler, decodes the payload, enforces the
 * timeout through the job's AbortSignal. It never touches the driver.
 *
 * An attempt costs what the job uses: its AbortSignal is made only if job code reads
 * `this.signal`, and a job whose run() returns no promise is not raced against anything.
 */
import type { Clock } from './clock.ts';
import type { ReservedJob } from './driver.ts';
import { TimeoutError, UnrecoverableError, coerceError } from './errors.ts';
import type { Listener } from './events.ts';
import type { JobContext } from './jobable.ts';
import { decodePayload } from './payload.ts';
import type { Handler } from './registry.ts';

export type AttemptOutcome =
  | { status: 'done' }
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
 * A running attempt that can be cut short from outside: by its timeout, or by a forced stop.
 * It is also the context the job instance gets (id, queue, attempt, signal).
 */
export class Attempt implements JobContext {
  private controller: AbortController | null = null;
  private reason: Error | null = null;
  private rejectRace: ((reason: Error) => void) | null = null;
  readonly id: string;
  readonly queue: string;
  readonly attempt: number;

  constructor(job: ReservedJob) {
    this.id = job.id;
    this.queue = job.queue;
    this.attempt = job.attempts;
  }

  /** The job's signal, made when job code first asks for it (aborted already if the attempt was cut). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Ends the attempt with `reason`: its signal aborts and its outcome is this error. */
  cut(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
    this.rejectRace?.(reason);
  }

  /** Rejects once the attempt is cut. */
  cutShort(): Promise<never> {
    if (this.reason) return Promise.reject(this.reason);
    return new Promise<never>((_, reject) => (this.rejectRace = reject));
  }
}

export async function runAttempt(job: ReservedJob, handler: Handler | null, timeoutMs: number, clock: Clock, attempt: Attempt): Promise<AttemptOutcome> {
  if (!handler) {
    return { status: 'error', final: true, error: new UnrecoverableError(`No handler for job "${job.name}": no class in application/jobs and no listener for "rakit.jobs.run: ${job.name}"`) };
  }
  let payload;
  try {
    payload = decodePayload(job.payload);
  } catch (error) {
    return { status: 'error', final: true, error: new UnrecoverableError(`Corrupt stored payload: ${coerceError(error).message}`) };
  }
  const cancelTimer = clock.after(timeoutMs, () => attempt.cut(new TimeoutError(`Job "${job.name}" (id ${job.id}) ran past its timeout of ${timeoutMs / 1000} s`)));
  try {
    let work: unknown;
    if (handler.kind === 'class') work = new handler.jobClass(payload, attempt).run();
    else work = runListeners(handler.listeners, payload);
    if (!isThenable(work)) return DONE;
    // A job that ignores its signal may still settle after the race is lost; never let that go unhandled.
    const running = Promise.resolve(work);
    running.catch(() => undefined);
    await Promise.race([running, attempt.cutShort()]);
    return DONE;
  } catch (thrown) {
    const error = coerceError(thrown);
    return { status: 'error', error, final: error instanceof UnrecoverableError };
  } finally {
    cancelTimer();
  }
}

async function runListeners(listeners: readonly Listener[], payload: unknown): Promise<void> {
  for (const listener of listeners) await listener(payload);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** The text the failed store keeps: `ErrorClass: message` and the stack. */
export function describeFailure(error: Error): string {
  const head = `${error.name}: ${error.message}`;
  const stack = error.stack ?? '';
  return stack.startsWith(head) ? stack : `${head}\n${stack.split('\n').slice(1).join('\n')}`.trimEnd();
}

/** What every log line of an attempt's outcome says about it (the worker's and the manager's alike). */
export function attemptFields(job: ReservedJob, ms: number): { id: string; job: string; queue: string; attempt: number; ms: number } {
  return { id: job.id, job: job.name, queue: job.queue, attempt: job.attempts, ms };
}
