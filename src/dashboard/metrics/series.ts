/**
 * The Overview's chart data: per-minute series (throughput, failures, retries, mean wait, mean
 * runtime) and a per-class table (counts, mean, p50 and p95 runtime) over a window of the stored
 * per-minute metrics, for all queues, one queue, or one job class. `buildSeries` is pure over
 * MetricSample[]; `chartSeries` reads the samples from the store.
 *
 * Minutes with nothing stored count 0 and have no mean (null), so a chart shows a gap, not 0 ms.
 */
import { TOTALS_MINUTE, type MetricSample, type MetricsStore } from '../../store/admin-store.ts';
import { addBuckets, histogramQuantile } from './quantile.ts';

const MINUTE_MS = 60_000;

export interface SeriesQuery {
  /** Epoch ms; rounded down to its minute. */
  from: number;
  /** Epoch ms, exclusive; rounded up to a minute. */
  to: number;
  /** Only this queue (absent or null: every queue). */
  queue?: string | null;
  /** Only this job name (absent or null: every job). */
  name?: string | null;
}

/** One job class (queue and job name) over the whole window. */
export interface ClassRow {
  queue: string;
  name: string;
  done: number;
  failed: number;
  retried: number;
  /** Mean runtime and wait of its attempts, ms (null without attempts). */
  meanRuntimeMs: number | null;
  meanWaitMs: number | null;
  /** Runtime quantiles estimated from the histogram, ms. */
  p50Ms: number | null;
  p95Ms: number | null;
}

/** Column arrays of equal length, one entry per minute (the shape uPlot draws). */
export interface ChartSeries {
  /** Start of each minute, epoch ms. */
  minutes: number[];
  done: number[];
  failed: number[];
  retried: number[];
  /** Mean wait (due to start) and runtime of the minute's attempts, ms; null for a minute without any. */
  waitMs: (number | null)[];
  runtimeMs: (number | null)[];
  /** Sorted by queue, then name. */
  classes: ClassRow[];
}

const attemptsOf = (s: Pick<MetricSample, 'done' | 'failed' | 'retried'>) => s.done + s.failed + s.retried;
const meanOf = (sum: number, count: number) => (count > 0 ? sum / count : null);

/** The minutes of a query's window: [from rounded down, to rounded up), one per minute. */
export function windowOf(query: SeriesQuery): { from: number; to: number } {
  const from = Math.max(Math.floor(query.from / MINUTE_MS) * MINUTE_MS, TOTALS_MINUTE + MINUTE_MS);
  return { from, to: Math.max(from, Math.ceil(query.to / MINUTE_MS) * MINUTE_MS) };
}

/** The series and class table of `samples` inside the query's window and filter. */
export function buildSeries(samples: readonly MetricSample[], query: SeriesQuery): ChartSeries {
  const { from, to } = windowOf(query);
  const count = (to - from) / MINUTE_MS;
  const minutes = Array.from({ length: count }, (_, i) => from + i * MINUTE_MS);
  const done = new Array<number>(count).fill(0);
  const failed = new Array<number>(count).fill(0);
  const retried = new Array<number>(count).fill(0);
  const waitSum = new Array<number>(count).fill(0);
  const runtimeSum = new Array<number>(count).fill(0);
  const classes = new Map<string, { row: ClassRow; runtimeMs: number; waitMs: number; buckets: number[] }>();

  for (const s of samples) {
    if (s.minute < from || s.minute >= to) continue;
    if (query.queue != null && s.queue !== query.queue) continue;
    if (query.name != null && s.name !== query.name) continue;
    const i = (s.minute - from) / MINUTE_MS;
    if (!Number.isInteger(i)) continue;
    done[i]! += s.done;
    failed[i]! += s.failed;
    retried[i]! += s.retried;
    waitSum[i]! += s.waitMs;
    runtimeSum[i]! += s.runtimeMs;
    const key = JSON.stringify([s.queue, s.name]);
    let entry = classes.get(key);
    if (!entry) {
      entry = {
        row: { queue: s.queue, name: s.name, done: 0, failed: 0, retried: 0, meanRuntimeMs: null, meanWaitMs: null, p50Ms: null, p95Ms: null },
        runtimeMs: 0, waitMs: 0, buckets: [],
      };
      classes.set(key, entry);
    }
    entry.row.done += s.done;
    entry.row.failed += s.failed;
    entry.row.retried += s.retried;
    entry.runtimeMs += s.runtimeMs;
    entry.waitMs += s.waitMs;
    addBuckets(entry.buckets, s.buckets);
  }

  const attempts = minutes.map((_, i) => done[i]! + failed[i]! + retried[i]!);
  return {
    minutes, done, failed, retried,
    waitMs: attempts.map((n, i) => meanOf(waitSum[i]!, n)),
    runtimeMs: attempts.map((n, i) => meanOf(runtimeSum[i]!, n)),
    classes: [...classes.values()]
      .map(({ row, runtimeMs, waitMs, buckets }) => ({
        ...row,
        meanRuntimeMs: meanOf(runtimeMs, attemptsOf(row)),
        meanWaitMs: meanOf(waitMs, attemptsOf(row)),
        p50Ms: histogramQuantile(0.5, buckets),
        p95Ms: histogramQuantile(0.95, buckets),
      }))
      .sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

/** The chart data of the query's window, read from the store's per-minute metrics. */
export async function chartSeries(store: Pick<MetricsStore, 'readMetrics'>, query: SeriesQuery): Promise<ChartSeries> {
  const { from, to } = windowOf(query);
  return buildSeries(await store.readMetrics(from, to), query);
}
