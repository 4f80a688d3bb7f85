/**
 * The process manager's reports to the dashboard about its worker processes (heartbeat.ts says
 * why the manager writes them): a beat for each process while it lives, its stop record with
 * why, and the metrics of the attempts the manager settles itself (those an exited process left
 * running; each process counts its own).
 */
import type { ExitKind } from './child-exit.ts';
import type { Clock } from '../infra/clock.ts';
import type { FullDriver } from '../store/driver.ts';
import type { JobConfig } from '../infra/config.ts';
import { Heartbeats, endOf } from '../worker/heartbeat.ts';
import { wire } from './ipc.ts';
import type { Logger } from '../infra/logger.ts';
import { MetricsCollector } from '../store/metrics-collector.ts';
import type { WorkerChild } from './worker-child.ts';

export class ManagerReports {
  readonly metrics: MetricsCollector | null;
  private readonly beats: Heartbeats | null;
  private readonly ids = new Map<WorkerChild, string>();

  constructor(deps: { driver: FullDriver; config: JobConfig; logger: Logger; clock: Clock }, private readonly queues: string[] | null) {
    this.metrics = deps.config.metrics ? new MetricsCollector(deps.driver, deps.logger, deps.clock, { retentionHours: deps.config.metrics_retention_hours }) : null;
    this.beats = new Heartbeats(deps.driver, deps.logger, deps.clock);
    this.metrics?.start();
  }

  /** A process was started: it beats from now on. */
  started(child: WorkerChild): void {
    if (!this.beats || child.pid === undefined) return;
    this.ids.set(child, this.beats.add(() => ({
      pid: child.pid!,
      queues: this.queues,
      running: [...child.running.values()].map((r) => {
        const job = wire.job(r.wire);
        return { id: job.id, name: job.name, queue: job.queue, startedAt: r.startedAt };
      }),
      done: child.counts.done,
      failed: child.counts.failed,
    })));
  }

  /** A process exited (`kind`: as child-exit.ts classified it): its stop record. */
  exited(child: WorkerChild, kind: ExitKind): void {
    const id = this.ids.get(child);
    if (!id) return;
    this.ids.delete(child);
    this.beats!.stopped(id, endOf(kind, child.reason));
  }

  /** The last metrics and records are written. */
  async close(): Promise<void> {
    await Promise.all([this.metrics?.close(), this.beats?.close()]);
  }
}
