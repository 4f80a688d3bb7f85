/**
 * The shared body of `job:runall` and `job:run`: flags → WorkerOptions, then either the process
 * manager (the default: worker processes it can kill at a job's timeout) or, with
 * `--in-process`, the worker loop in this process. Signals start the two-phase stop.
 */
import path from 'node:path';
import { Command } from 'commander';
import type { Backoff } from '../../infra/backoff.ts';
import { UsageError } from '../../infra/errors.ts';
import { Manager } from '../../manager/manager.ts';
import { runtime, type Runtime } from '../../api/runtime.ts';
import { Worker } from '../../worker/worker.ts';
import { runLoaded } from '../../worker/worker-announce.ts';
import { DEFAULT_WORKER_OPTIONS, EXIT_CODES, type WorkerOptions } from '../../worker/worker-options.ts';
import { backoffList, queueList, seconds, wholeNumber, type QueueList } from '../options.ts';

/** The most worker processes one manager runs. */
export const MAX_PROCESSES = 64;

export interface WorkerFlags {
  queue?: QueueList;
  retries?: number;
  sleep?: number;
  timeout?: number;
  backoff?: Backoff;
  concurrency?: number;
  processes?: number;
  inProcess?: boolean;
  once?: boolean;
  stopWhenEmpty?: boolean;
  maxJobs?: number;
  maxTime?: number;
  memory?: number;
  watch?: boolean;
}

/** The flags that shape how a worker works, not when it stops; `job:supervisor` carries them into its programs. */
export const TUNING_FLAGS: [flags: string, description: string, parse: (value: string) => unknown][] = [
  ['--retries <n>', 'total attempts for jobs whose class does not set `tries`', wholeNumber(1)],
  ['--sleep <ms>', 'idle wait between looks at the queue (default: sleep_ms)', wholeNumber(0)],
  ['--timeout <s>', 'seconds a job may run when its class does not set `timeout`', seconds],
  ['--backoff <s[,s...]>', 'seconds before retries when the class does not set `backoff`', backoffList],
  ['--concurrency <n>', 'jobs run at once in each worker process', wholeNumber(1)],
  ['--processes <n>', `worker processes the manager keeps running (at most ${MAX_PROCESSES})`, wholeNumber(1)],
  ['--max-jobs <n>', 'exit after this many jobs', wholeNumber(0)],
  ['--max-time <s>', 'exit after this many seconds (finishing running jobs)', wholeNumber(0)],
  ['--memory <mb>', 'replace a worker process (or exit, with --in-process) after a job when its RSS exceeds this many MB', wholeNumber(0)],
];

export function addTuningFlags(command: Command): Command {
  for (const [flags, description, parse] of TUNING_FLAGS) command.option(flags, description, parse);
  return command;
}

export function addWorkerFlags(command: Command): Command {
  command.option('--queue <queues>', 'queues in strict priority order, e.g. high,default,low, or weighted, e.g. high:6,default:3,low:1 (default: every queue, oldest first)', queueList);
  return addTuningFlags(command)
    .option('--in-process', 'run jobs in this process, without the manager (a job that blocks the event loop cannot be stopped)')
    .option('--once', 'process one job, then exit')
    .option('--stop-when-empty', "exit when nothing is due and none of this run's retries is waiting")
    .option('--watch', 'development: when files under application/jobs change, start worker processes with the new code (running jobs finish on the old)');
}

export async function runWorker(flags: WorkerFlags, extra: Partial<WorkerOptions>, recycleAfter: number): Promise<number> {
  const rt = await runtime();
  if (flags.watch && flags.inProcess) throw new UsageError('--watch loads changed job files in new worker processes: drop --in-process');
  if ((flags.processes ?? 1) > MAX_PROCESSES) {
    throw new UsageError(`--processes ${flags.processes} is more than ${MAX_PROCESSES}: each worker process is a Node.js process of its own; use --concurrency for more jobs at once in each`);
  }
  const options: WorkerOptions = {
    ...DEFAULT_WORKER_OPTIONS,
    sleepMs: flags.sleep ?? rt.config.sleep_ms,
    queues: flags.queue?.queues ?? null,
    weights: flags.queue?.weights ?? null,
    tries: flags.retries ?? null,
    backoff: flags.backoff ?? null,
    timeout: flags.timeout ?? null,
    concurrency: flags.concurrency ?? 1,
    once: flags.once ?? false,
    stopWhenEmpty: flags.stopWhenEmpty ?? false,
    maxJobs: flags.maxJobs ?? 0,
    maxTime: flags.maxTime ?? 0,
    memory: flags.memory ?? 0,
    ...extra,
  };
  const watch = flags.watch ? path.join(rt.config.root, 'application', 'jobs') : undefined;
  const supervised = flags.inProcess ? null : new Manager(rt, { processes: flags.processes ?? 1, worker: options, recycleAfter, watch });
  const inline = supervised ? null : new Worker(rt, options);
  const target = (supervised ?? inline)!;
  const onSignal = (signal: string) => {
    rt.logger.warn(target.stopping
      ? `${signal} again: releasing running jobs and exiting`
      : `${signal}: finishing running jobs, then exiting (send again to stop now)`);
    target.stop();
  };
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  const relay = await startRelay(rt);
  try {
    if (supervised) return await supervised.run();
    rt.logger.warn('--in-process: a job that blocks the event loop or ignores its AbortSignal cannot be stopped, at its timeout or by a signal');
    return EXIT_CODES[(await runLoaded(rt, inline!, options, true)).reason];
  } finally {
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
    await relay?.stop();
  }
}

/**
 * With `outbox: true` and a job store that is not the app's database, the outbox relay
 * (src/outbox/): what was committed before the run is moved first, so the run sees it; then the
 * relay runs beside the worker until it stops.
 */
async function startRelay(rt: Runtime): Promise<{ stop(): Promise<void> } | null> {
  if (!rt.config.outbox || rt.config.driver === 'database') return null;
  const { openRelay } = await import('../../flows/outbox/outbox-store.ts');
  const outbox = openRelay(rt.config, rt.driver, rt.logger);
  const moved = await outbox.relay.drain().catch((error: unknown) => {
    rt.logger.warn({ err: error }, `Outbox relay: ${(error as Error).message}; the worker starts, the relay keeps trying`);
    return 0;
  });
  if (moved > 0) rt.logger.info({ jobs: moved }, `Outbox: moved ${moved} committed job${moved === 1 ? '' : 's'} to the queues`);
  const stopping = new AbortController();
  const running = outbox.relay.run(stopping.signal);
  return {
    async stop() {
      stopping.abort();
      await running;
      await outbox.close();
    },
  };
}
