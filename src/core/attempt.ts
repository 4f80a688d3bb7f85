/**
 * Runs one attempt of one claimed job and says how it ended: done, or failed with an error
 * (and whether retrying can help). Resolves the handler, decodes the payload, enforces the
 * timeout through the job's AbortSignal. It never touches the driver.
 */
import type { Clock } from './clock.ts';
import type { ReservedJob } from './driver.ts';
import { TimeoutError, UnrecoverableError, coerceError } from './errors.ts';
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

/** The reason given when an attempt's own timer is cancelled: a constant, as a DOMException per job costs more than the job. */
const ATTEMPT_OVER = Symbol('attempt over');

export async function runAttempt(
  job: ReservedJob,
  handler: Handler | null,
  timeoutMs: number,
  clock: Clock,
  stop: AbortSignal,
): Promise<AttemptOutcome> {
  if (!handler) {
    return { status: 'error', final: true, error: new UnrecoverableError(`No handler for job "${job.name}": no class in application/jobs and no listener for "rakit.jobs.run: ${job.name}"`) };
  }
  let payload;
  try {
    payload = decodePayload(job.payload);
  } catch (error) {
    return { status: 'error', final: true, error: new UnrecoverableError(`Corrupt stored payload: ${coerceError(error).message}`) };
  }
  const controller = new AbortController();
  const onStop = () => controller.abort(new ShutdownAbort());
  stop.addEventListener('abort', onStop, { once: true });
  const timerDone = new AbortController();
  const timedOut = clock.sleep(timeoutMs, timerDone.signal).then(() => {
    if (!timerDone.signal.aborted) controller.abort(new TimeoutError(`Job "${job.name}" (id ${job.id}) ran past its timeout of ${timeoutMs / 1000} s`));
  });
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  try {
    const work = (async () => {
      if (handler.kind === 'class') {
        const instance = new handler.jobClass(payload, { id: job.id, queue: job.queue, attempt: job.attempts, signal: controller.signal });
        await instance.run();
      } else {
        for (const listener of handler.listeners) await listener(payload);
      }
    })();
    // A job that ignores its signal may still settle after the race is lost; never let that go unhandled.
    work.catch(() => undefined);
    await Promise.race([work, aborted]);
    return { status: 'done' };
  } catch (thrown) {
    const error = coerceError(thrown);
    return { status: 'error', error, final: error instanceof UnrecoverableError };
  } finally {
    timerDone.abort(ATTEMPT_OVER);
    void timedOut;
    stop.removeEventListener('abort', onStop);
  }
}

/** The text the failed store keeps: `ErrorClass: message` and the stack. */
export function describeFailure(error: Error): string {
  const head = `${error.name}: ${error.message}`;
  const stack = error.stack ?? '';
  return stack.startsWith(head) ? stack : `${head}\n${stack.split('\n').slice(1).join('\n')}`.trimEnd();
}
