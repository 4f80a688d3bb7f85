/**
 * Per-minute metrics as one process counts them: each attempt that ends (settle.ts) is added in
 * memory to its (minute, queue, name) sample; a background flush sends them with `addMetrics`
 * every METRICS_FLUSH_MS and when the process stops, each sample also added under
 * TOTALS_MINUTE (the all-time totals). Nothing here is awaited by the claim loop. A flush that
 * fails keeps its counts (those within the retention) for the next one, warning once. Now and then (PRUNE_EVERY_MS, from a random offset so
 * the processes sharing a store take turns) a flush also drops minutes older than the retention.
 */
import { RUNTIME_BUCKETS_MS, TOTALS_MINUTE, type MetricSample, type MetricsStore } from './admin-store.ts';
import type { Clock } from '../infra/clock.ts';
import type { ReservedJob } from './driver.ts';
import { coerceError } from '../infra/errors.ts';
import type { Logger } from '../infra/logger.ts';
import { queueOfLane } from './claims/lanes.ts';

export const METRICS_FLUSH_MS = 5_000;
export const PRUNE_EVERY_MS = 10 * 60_000;
const MINUTE_MS = 60_000;

/** How an attempt ended, as metrics count it. */
export type MetricOutcome = 'done' | 'failed' | 'retried';

/** The runtime bucket of `ms`: the first bound it does not exceed, else the last (+Inf) bucket. */
export function bucketOf(ms: number): number {
  let i = 0;
  while (i < RUNTIME_BUCKETS_MS.length && ms > RUNTIME_BUCKETS_MS[i]!) i++;
  return i;
}

export function emptySample(minute: number, queue: string, name: string): MetricSample {
  return { minute, queue, name, done: 0, failed: 0, retried: 0, runtimeMs: 0, waitMs: 0, buckets: new Array<number>(RUNTIME_BUCKETS_MS.length + 1).fill(0) };
}

/** Adds `from` into `into` (same queue and name): the one sum of metric samples. */
export function addInto(into: MetricSample, from: MetricSample): void {
  into.done += from.done;
  into.failed += from.failed;
  into.retried += from.retried;
  into.runtimeMs += from.runtimeMs;
  into.waitMs += from.waitMs;
  for (let i = 0; i < into.buckets.length; i++) into.buckets[i]! += from.buckets[i]!;
}

export interface MetricsOptions {
  retentionHours: number;
  flushMs?: number;
}

export class MetricsCollector {
  private pending = new Map<string, MetricSample>();
  /** The sample of the last attempt counted: most attempts in a row share it, and skip the lookup. */
  private last: MetricSample | null = null;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private nextPrune: number;
  private failing = false;

  constructor(private readonly store: MetricsStore, private readonly logger: Pick<Logger, 'warn'>, private readonly clock: Clock, private readonly options: MetricsOptions) {
    this.nextPrune = clock.now() + Math.random() * PRUNE_EVERY_MS;
  }

  /** One attempt that ran from `startedAt` to `endedAt` (epoch ms). */
  record(job: Pick<ReservedJob, 'queue' | 'name' | 'scheduledAt'>, outcome: MetricOutcome, startedAt: number, endedAt: number): void {
    const minute = endedAt - (endedAt % MINUTE_MS);
    let sample = this.last;
    // A group's lane counts as its queue (lanes.ts).
    const queue = queueOfLane(job.queue);
    if (sample === null || sample.minute !== minute || sample.queue !== queue || sample.name !== job.name) {
      const key = `${minute}\0${queue}\0${job.name}`;
      const found = this.pending.get(key) ?? emptySample(minute, queue, job.name);
      this.pending.set(key, found);
      this.last = sample = found;
    }
    sample[outcome]++;
    const runtime = Math.max(0, endedAt - startedAt);
    sample.runtimeMs += runtime;
    sample.waitMs += Math.max(0, startedAt - job.scheduledAt);
    sample.buckets[bucketOf(runtime)]!++;
  }

  /** Flushes every METRICS_FLUSH_MS until `close`. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.options.flushMs ?? METRICS_FLUSH_MS);
    this.timer.unref();
  }

  /** Sends what was counted since the last flush (never throws; a failure is logged and its counts kept). */
  flush(): Promise<void> {
    this.flushing ??= this.send().finally(() => (this.flushing = null));
    return this.flushing;
  }

  /** Stops the timer and sends what is left. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flushing;
    await this.flush();
  }

  private async send(): Promise<void> {
    const batch = this.pending;
    if (batch.size > 0) {
      this.pending = new Map();
      this.last = null;
      const samples = [...batch.values()];
      const totals = new Map<string, MetricSample>();
      for (const s of samples) {
        const key = `${s.queue}\0${s.name}`;
        let total = totals.get(key);
        if (!total) totals.set(key, (total = emptySample(TOTALS_MINUTE, s.queue, s.name)));
        addInto(total, s);
      }
      try {
        await this.store.addMetrics([...samples, ...totals.values()], this.options.retentionHours * 3_600_000);
        this.failing = false;
      } catch (error) {
        if (!this.failing) this.logger.warn({ err: coerceError(error) }, 'Cannot store the job metrics; keeping them for the next try');
        this.failing = true;
        // Kept no longer than the retention, so a store that never takes them cannot fill the memory.
        const oldest = this.clock.now() - this.options.retentionHours * 3_600_000;
        for (const [key, s] of batch) {
          if (s.minute < oldest) continue;
          const now = this.pending.get(key);
          if (now) addInto(now, s);
          else this.pending.set(key, s);
        }
        return;
      }
    }
    await this.prune();
  }

  private async prune(): Promise<void> {
    const now = this.clock.now();
    if (now < this.nextPrune) return;
    this.nextPrune = now + PRUNE_EVERY_MS;
    const before = now - this.options.retentionHours * 3_600_000;
    try {
      await this.store.pruneMetrics(before - (before % MINUTE_MS));
    } catch (error) {
      this.logger.warn({ err: coerceError(error) }, 'Cannot prune old job metrics; trying again later');
    }
  }
}
