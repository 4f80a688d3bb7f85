import { describe, expect, it } from 'vitest';
import { RUNTIME_BUCKETS_MS, type MetricSample } from '../../src/store/admin-store.ts';
import { histogramQuantile } from '../../src/dashboard/metrics/quantile.ts';
import { buildSeries } from '../../src/dashboard/metrics/series.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0);
const M = 60_000;

/** Bucket counts with `count` attempts in the bucket whose upper bound is `ms`. */
function bucketsWith(entries: [ms: number | 'inf', count: number][]): number[] {
  const buckets = new Array<number>(RUNTIME_BUCKETS_MS.length + 1).fill(0);
  for (const [ms, count] of entries) buckets[ms === 'inf' ? RUNTIME_BUCKETS_MS.length : RUNTIME_BUCKETS_MS.indexOf(ms as never)]! += count;
  return buckets;
}

function sample(over: Partial<MetricSample>): MetricSample {
  return { minute: T0, queue: 'default', name: 'SendEmail', done: 0, failed: 0, retried: 0, runtimeMs: 0, waitMs: 0, buckets: bucketsWith([]), ...over };
}

describe('histogramQuantile', () => {
  it('interpolates linearly inside the bucket holding the rank, as histogram_quantile does', () => {
    // 10 in (0,5], 10 in (5,10]: the median is the top of the first bucket, p75 halfway into the second.
    const buckets = bucketsWith([[5, 10], [10, 10]]);
    expect(histogramQuantile(0.5, buckets)).toBe(5);
    expect(histogramQuantile(0.75, buckets)).toBe(7.5);
    expect(histogramQuantile(0.25, buckets)).toBe(2.5);
  });

  it('skips empty buckets and starts the first bucket at 0', () => {
    // 4 attempts in (250,500]: p50 is rank 2 of 4, halfway from 250 to 500.
    expect(histogramQuantile(0.5, bucketsWith([[500, 4]]))).toBe(375);
    expect(histogramQuantile(0.95, bucketsWith([[500, 4]]))).toBe(250 + 250 * 0.95);
  });

  it('answers the highest finite bound for a rank in the +Inf bucket, and null for no attempts', () => {
    expect(histogramQuantile(0.95, bucketsWith([[5, 1], ['inf', 9]]))).toBe(300_000);
    expect(histogramQuantile(0.5, bucketsWith([]))).toBeNull();
  });
});

describe('buildSeries', () => {
  const samples = [
    sample({ minute: T0, done: 3, runtimeMs: 300, waitMs: 30, buckets: bucketsWith([[100, 3]]) }),
    sample({ minute: T0, queue: 'low', name: 'Report', done: 1, failed: 1, runtimeMs: 4_000, waitMs: 2_000, buckets: bucketsWith([[2_500, 2]]) }),
    sample({ minute: T0 + 2 * M, done: 1, retried: 1, runtimeMs: 60, waitMs: 10, buckets: bucketsWith([[50, 2]]) }),
    sample({ minute: T0 + 5 * M, done: 100 }), // outside the window
  ];

  it('gives every minute of the window, missing minutes as 0 with no mean', () => {
    const s = buildSeries(samples, { from: T0 + 10, to: T0 + 3 * M });
    expect(s.minutes).toEqual([T0, T0 + M, T0 + 2 * M]);
    expect(s.done).toEqual([4, 0, 1]);
    expect(s.failed).toEqual([1, 0, 0]);
    expect(s.retried).toEqual([0, 0, 1]);
    expect(s.runtimeMs).toEqual([4_300 / 5, null, 30]);
    expect(s.waitMs).toEqual([2_030 / 5, null, 5]);
  });

  it('rounds the window out to whole minutes (the current minute included)', () => {
    const s = buildSeries(samples, { from: T0 + 30_000, to: T0 + 2 * M + 1 });
    expect(s.minutes).toEqual([T0, T0 + M, T0 + 2 * M]);
  });

  it('filters by queue or by job class', () => {
    const low = buildSeries(samples, { from: T0, to: T0 + 3 * M, queue: 'low' });
    expect(low.done).toEqual([1, 0, 0]);
    expect(low.classes.map((c) => c.name)).toEqual(['Report']);
    const email = buildSeries(samples, { from: T0, to: T0 + 3 * M, name: 'SendEmail' });
    expect(email.done).toEqual([3, 0, 1]);
  });

  it('tables each class over the window with counts, means and runtime quantiles', () => {
    const s = buildSeries(samples, { from: T0, to: T0 + 3 * M });
    expect(s.classes).toEqual([
      { queue: 'default', name: 'SendEmail', done: 4, failed: 0, retried: 1, meanRuntimeMs: 72, meanWaitMs: 8,
        p50Ms: histogramQuantile(0.5, bucketsWith([[50, 2], [100, 3]])), p95Ms: histogramQuantile(0.95, bucketsWith([[50, 2], [100, 3]])) },
      { queue: 'low', name: 'Report', done: 1, failed: 1, retried: 0, meanRuntimeMs: 2_000, meanWaitMs: 1_000, p50Ms: 1_750, p95Ms: 1_000 + 1_500 * 0.95 },
    ]);
    // 2 in (25,50], 3 in (50,100]: p50 is rank 2.5, half of the way through the second bucket's first of 3.
    expect(s.classes[0]!.p50Ms).toBeCloseTo(50 + 50 * (0.5 / 3));
  });
});
