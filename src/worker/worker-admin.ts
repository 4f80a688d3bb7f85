/**
 * What a worker loop does for the dashboard beside its work: it follows the paused queues
 * (paused-queues.ts), reads the cancel requests while it runs jobs unless its manager does
 * (cancel-requests.ts), counts each attempt's outcome in the metrics (metrics-collector.ts, fed by
 * settle.ts; off with `metrics: false`), and, when no process manager reports it
 * (`--in-process`, see heartbeat.ts), beats for itself and records why it stopped.
 */
import type { WorkerEnd } from '../store/admin-store.ts';
import type { Clock } from '../infra/clock.ts';
import type { FullDriver } from '../store/driver.ts';
import type { JobConfig } from '../infra/config.ts';
import { Heartbeats, type BeatSource } from './heartbeat.ts';
import type { Logger } from '../infra/logger.ts';
import { MetricsCollector } from '../store/metrics-collector.ts';
import { PausedQueues } from '../store/paused-queues.ts';
import { CancelWatch, type CancelTarget } from '../store/cancel-requests.ts';

export class WorkerAdmin {
  readonly paused: PausedQueues;
  readonly metrics: MetricsCollector | null;
  /** Woken when an attempt starts; null when the process manager reads the requests for this process. */
  readonly cancels: CancelWatch | null;
  private readonly beats: Heartbeats | null;
  private beatId: string | null = null;

  /** `reportsItself`: no manager reports this process, so it writes its own beats; `cancelled`: its running jobs, when it reads its cancel requests. */
  constructor(deps: { driver: FullDriver; config: JobConfig; logger: Logger; clock: Clock }, reportsItself: boolean, cancelled: CancelTarget | null = null) {
    const store = deps.driver;
    this.cancels = cancelled ? new CancelWatch(store, deps.logger, cancelled) : null;
    this.paused = new PausedQueues(store, deps.logger);
    this.metrics = deps.config.metrics ? new MetricsCollector(store, deps.logger, deps.clock, { retentionHours: deps.config.metrics_retention_hours }) : null;
    this.beats = reportsItself ? new Heartbeats(store, deps.logger, deps.clock) : null;
  }

  /** Before the first claim: reads the paused queues, starts the metrics flush and the beats. */
  async begin(source: BeatSource): Promise<void> {
    this.metrics?.start();
    if (this.beats) this.beatId = this.beats.add(source);
    await this.paused.begin();
  }

  /** After the last attempt: the last metrics, the stop record. */
  async end(reason: WorkerEnd): Promise<void> {
    this.paused.close();
    this.cancels?.close();
    if (this.beats && this.beatId) this.beats.stopped(this.beatId, reason);
    await Promise.all([this.metrics?.close(), this.beats?.close()]);
  }
}
