/**
 * Quantiles of the runtime histogram (RUNTIME_BUCKETS_MS), estimated the way Prometheus's
 * `histogram_quantile` does: find the bucket holding the rank, interpolate linearly inside it
 * (the first bucket starts at 0), and answer the highest finite bound for a rank in +Inf.
 */
import { RUNTIME_BUCKETS_MS } from '../../store/admin-store.ts';

/**
 * The q-quantile (0..1) in ms of per-bucket counts (not cumulative; RUNTIME_BUCKETS_MS.length + 1
 * of them, the last counting the rest), or null when the histogram is empty.
 */
export function histogramQuantile(q: number, buckets: readonly number[], bounds: readonly number[] = RUNTIME_BUCKETS_MS): number | null {
  const total = buckets.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.min(Math.max(q, 0), 1) * total;
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const count = buckets[i] ?? 0;
    if (below + count >= rank && count > 0) {
      const start = i === 0 ? 0 : bounds[i - 1]!;
      return start + (bounds[i]! - start) * ((rank - below) / count);
    }
    below += count;
  }
  return bounds[bounds.length - 1]!;
}

/** Adds per-bucket counts of `more` into `into` (which grows to the longer length). */
export function addBuckets(into: number[], more: readonly number[]): number[] {
  for (let i = 0; i < more.length; i++) into[i] = (into[i] ?? 0) + (more[i] ?? 0);
  return into;
}
