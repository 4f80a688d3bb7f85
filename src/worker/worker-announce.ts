/**
 * What a run of workers says at its start (the driver's warning, once per run, then where it
 * works) and at its end (the run-wide summary), whether it runs in this process or under the
 * process manager.
 */
import type { Driver } from '../store/driver.ts';
import type { Logger } from '../infra/logger.ts';
import type { Registry } from '../api/registry.ts';
import type { Worker } from './worker.ts';
import type { WorkerOptions, WorkerSummary } from './worker-options.ts';

/** Loads the jobs, checks the names asked for, runs the worker; `announce`: say it starts and how it stopped (in-process). */
export async function runLoaded(deps: { registry: Registry; driver: Driver; logger: Logger }, worker: Worker, options: WorkerOptions, announce: boolean): Promise<WorkerSummary> {
  const { registry, logger } = deps;
  await registry.discover();
  for (const name of options.names ?? []) registry.assertKnown(name);
  if (announce) announceStart(deps, options);
  const summary = await worker.run();
  if (announce) announceStop(logger, summary);
  return summary;
}

/** What a run says when it starts: the driver's warning, then where it works. */
export function announceStart({ driver, logger }: { driver: Driver; logger: Logger }, options: WorkerOptions): void {
  if (driver.warning) logger.warn(driver.warning);
  logger.info({ driver: driver.description, queues: options.queues ?? 'all', concurrency: options.concurrency },
    `Worker started on ${driver.description}`);
}

export function announceStop(logger: Logger, summary: WorkerSummary): void {
  const skipped = summary.skipped > 0 ? `, ${summary.skipped} skipped` : '';
  logger.info(summary, `Worker stopped (${summary.reason}): ${summary.done} done, ${summary.retried} retried, ${summary.failed} failed${skipped}`);
}
