/**
 * A worker process under the manager: runs the Worker loop and tells the manager about each
 * attempt before job code runs, so a job that blocks the event loop or ignores its signal can
 * still be stopped from outside. Signals belong to the manager (a Ctrl-C reaches the whole
 * process group): this process stops on the manager's word, or by itself when the manager is gone.
 */
import { UsageError, coerceError } from '../infra/errors.ts';
import { toWire, type ManagerMessage, type WireAttempt, type WorkerMessage } from '../manager/ipc.ts';
import { runtime } from '../api/runtime.ts';
import { errorFromWire, runFailedHook, type Settled } from './settle.ts';
import { fireJobEvent } from '../api/job-events.ts';
import { Worker } from './worker.ts';
import type { WorkerDeps } from './worker-hooks.ts';
import { announceStart, runLoaded } from './worker-announce.ts';
import { EXIT_CODES, type WorkerOptions } from './worker-options.ts';

/** How long an end may wait for the next start to ride on. */
const END_DELAY_MS = 50;

export async function runWorkerProcess(options: WorkerOptions): Promise<number> {
  const rt = await runtime();
  const send = (message: WorkerMessage) =>
    new Promise<void>((resolve) => {
      if (!process.connected) return resolve();
      process.send!(message, undefined, {}, () => resolve());
    });
  // Attempts are reported in few messages: the starts of a claimed batch go together, and job
  // code waits for its start to be sent; the end of job code rides on the next start (or goes
  // alone after END_DELAY_MS, far inside the manager's kill deadline). The end of code stopped at
  // its timeout goes at once: its kill deadline is near; so does a recorded outcome.
  let finished: string[] = [];
  let succeeded: string[] = [];
  let ended: [string, Settled['kind']][] = [];
  let started: WireAttempt[] = [];
  let flushing: Promise<void> | null = null;
  let endTimer: NodeJS.Timeout | null = null;
  const flush = () => {
    if (endTimer) clearTimeout(endTimer);
    endTimer = null;
    // A microtask: the starts of one claimed batch are all pushed by one synchronous loop.
    flushing ??= Promise.resolve().then(async () => {
      const message: WorkerMessage = { type: 'attempts', finished, succeeded, ended, started };
      finished = [];
      succeeded = [];
      ended = [];
      started = [];
      flushing = null;
      await send(message);
    });
    return flushing;
  };
  // Claims under a run-wide cap wait for the manager's grant; one claim asks at a time.
  let granted: ((n: number) => void) | null = null;
  const deps: WorkerDeps = {
    ...rt,
    hooks: {
      killsStuckAttempts: true,
      cancelsFromSupervisor: true,
      reportedBySupervisor: true,
      attemptStarting: (job, plan) => {
        started.push(toWire(job, plan));
        return flush();
      },
      codeEnded: (job, cut, ok) => {
        finished.push(job.id);
        // Told with the next start, not alone (one message per job at concurrency 1): a process
        // that dies after the ack of a success it had not told of is settled by the store's word
        // (settleLeftRunning: acked is done).
        if (ok) succeeded.push(job.id);
        if (cut) void flush();
        else endTimer ??= setTimeout(() => void flush(), END_DELAY_MS);
      },
      // The run's counts are made of these: one recorded but not yet told would be missing from
      // them if this process died (the outcomes of one batch of acks still go in one message).
      attemptEnded: (job, kind) => {
        ended.push([job.id, kind]);
        void flush();
      },
      dueForReplacement: () => void send({ type: 'due' }),
      ...(options.budgetFromManager ? {
        claimBudget: (n: number) => new Promise<number>((resolve) => {
          granted = resolve;
          void send({ type: 'want', n });
        }),
        unusedBudget: (n: number) => void send({ type: 'unused', n }),
      } : {}),
    },
  };
  const worker = new Worker(deps, options);
  const hooks = new Set<Promise<void>>();
  process.on('message', (message: ManagerMessage) => {
    switch (message.type) {
      // `stop` may come more than once (it is the first phase only); `force` is the second.
      case 'stop':
        if (!worker.stopping) worker.stop(message.reason);
        break;
      case 'cancel':
        worker.cancel(message.id);
        break;
      case 'force':
        worker.forceStop();
        break;
      case 'grant': {
        const resolve = granted;
        granted = null;
        resolve?.(message.n);
        break;
      }
      case 'job-event': {
        const fired: Promise<void> = rt.registry.discover()
          .then(() => fireJobEvent(rt.logger, message.job, message.settled, message.ms, message.error && errorFromWire(message.error)))
          .catch((error: unknown) => rt.logger.error({ err: coerceError(error), id: message.job.id, job: message.job.name }, `Could not tell the Job.on() listeners of job ${message.job.name} (id ${message.job.id}): the job files do not load`))
          .finally(() => {
            hooks.delete(fired);
            void send({ type: 'hook-done', id: message.id });
          });
        hooks.add(fired);
        break;
      }
      case 'failed-hook': {
        const run: Promise<void> = rt.registry.discover() // the message may come before the worker has loaded its jobs
          .then(() => runFailedHook(rt.registry, rt.logger, message.job, errorFromWire(message.error)))
          // A job file that no longer loads (--watch) must not become an unhandled rejection.
          .catch((error: unknown) => rt.logger.error({ err: coerceError(error), id: message.job.id, job: message.job.name }, `Could not run the failed() hook of job ${message.job.name} (id ${message.job.id}): the job files do not load`))
          .finally(() => {
            hooks.delete(run);
            void send({ type: 'hook-done', id: message.id });
          });
        hooks.add(run);
        break;
      }
    }
  });
  process.on('disconnect', () => {
    // Like a `stop`: a manager lost after a first stop must not turn it into a forced one.
    if (!worker.stopping) worker.stop();
    granted?.(0);
  });
  // SIGTERM and SIGINT are ignored from the process's first line (bin/rakit.js).
  const beat = setInterval(() => {
    const { done, retried, failed } = worker.counts;
    void send({ type: 'beat', rss: process.memoryUsage().rss, done, failed: failed + retried });
  }, 1000);
  beat.unref();

  await rt.registry.discover();
  // Ready means ready to work: the job files loaded and the names asked for (job:run) are known.
  for (const name of options.names ?? []) rt.registry.assertKnown(name);
  if (options.announceStart) announceStart(rt, options);
  await send({ type: 'ready' });
  const summary = await runLoaded(deps, worker, options, false).catch(async (error: unknown) => {
    if (error instanceof UsageError) await send({ type: 'fatal' });
    throw error;
  });
  clearInterval(beat);
  await flush();
  await Promise.all(hooks);
  await send({ type: 'stopped', summary, ...(worker.waiting.length > 0 ? { waiting: worker.waiting } : {}) });
  return EXIT_CODES[summary.reason];
}
