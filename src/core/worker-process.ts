/**
 * A worker process under the manager: runs the Worker loop and tells the manager about each
 * attempt before job code runs, so a job that blocks the event loop can still be stopped from
 * outside. Signals belong to the manager (a Ctrl-C reaches the whole process group): this
 * process stops on the manager's word, or by itself when the manager is gone.
 */
import { coerceError } from './errors.ts';
import { toWire, type ManagerMessage, type WireAttempt, type WorkerMessage } from './ipc.ts';
import { decodePayload } from './payload.ts';
import { runtime } from './runtime.ts';
import { Worker, runAnnounced, type WorkerDeps } from './worker.ts';
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
  // code waits for its start to be sent; an end rides on the next start (or goes alone after
  // END_DELAY_MS, far inside the manager's kill deadline).
  let ended: string[] = [];
  let started: WireAttempt[] = [];
  let flushing: Promise<void> | null = null;
  let endTimer: NodeJS.Timeout | null = null;
  const flush = () => {
    if (endTimer) clearTimeout(endTimer);
    endTimer = null;
    // A microtask: the starts of one claimed batch are all pushed by one synchronous loop.
    flushing ??= Promise.resolve().then(async () => {
      const message: WorkerMessage = { type: 'attempts', ended, started };
      ended = [];
      started = [];
      flushing = null;
      await send(message);
    });
    return flushing;
  };
  const deps: WorkerDeps = {
    ...rt,
    hooks: {
      attemptStarting: (job, plan) => {
        started.push(toWire(job, plan));
        return flush();
      },
      attemptEnded: (job) => {
        ended.push(job.id);
        endTimer ??= setTimeout(() => void flush(), END_DELAY_MS);
      },
    },
  };
  const worker = new Worker(deps, options);
  process.on('message', (message: ManagerMessage) => {
    // `stop` may come more than once (it is the first phase only); `force` is the second.
    if (message.type === 'stop') {
      if (!worker.stopping) worker.stop();
    }
    else if (message.type === 'force') worker.forceStop();
    else if (message.type === 'failed-hook') hooks.add(failedHook(message.job.name, message.job.payload, message.exception));
  });
  process.on('disconnect', () => worker.stop());
  // SIGTERM and SIGINT are ignored from the process's first line (bin/rakit.js).
  const hooks = new Set<Promise<void>>();
  const beat = setInterval(() => void send({ type: 'beat', rss: process.memoryUsage().rss }), 1000);
  beat.unref();

  async function failedHook(name: string, payload: string, exception: string): Promise<void> {
    await rt.registry.discover(); // the message may come before the worker has loaded its jobs
    const handler = rt.registry.resolve(name);
    if (handler?.kind !== 'class' || typeof handler.jobClass.prototype.failed !== 'function') return;
    const error = Object.assign(new Error(exception.split('\n')[0]!.replace(/^\w+: /, '')), { name: 'TimeoutError', stack: exception });
    try {
      let data = {};
      try {
        data = decodePayload(payload);
      } catch {
        // a corrupt payload: the hook gets {}
      }
      await new handler.jobClass(data).failed!(error);
    } catch (thrown) {
      rt.logger.error({ job: name, err: coerceError(thrown) }, `The failed() hook of ${name} threw`);
    }
  }

  await rt.registry.discover();
  await send({ type: 'ready' });
  const summary = await runAnnounced(deps, worker, options);
  clearInterval(beat);
  await flush();
  await Promise.all(hooks);
  await send({ type: 'stopped', summary });
  return EXIT_CODES[summary.reason];
}
