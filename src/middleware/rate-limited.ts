/**
 * `rateLimited({ key, max, per })`: at most `max` starts of jobs of one key within any `per`
 * seconds, across every worker and host sharing the store. A sliding log of start times in the
 * record `rate/<key>`, updated by compare-and-set: a start is taken only if fewer than `max`
 * logged starts lie within `per` before it, plus a margin: run() starts some ms after its take
 * (a write that may wait on racing takers), so the margin (10% of `per`, at most 100 ms, or the
 * store's recent pace when slower) keeps the limit on the starts the jobs see too. A job over the
 * limit is held back, uncounted, to the moment the oldest start in its window leaves it.
 */
import { controlsOfJob } from '../api/jobable.ts';
import type { Clock } from '../infra/clock.ts';
import type { RecordStore } from '../store/record-store.ts';
import type { JobMiddleware } from '../api/job-types.ts';
import { jitter, keyOf, limitStore, recordId, updateRecord, type LimitKey } from './limit-record.ts';

export const RATE_NAMESPACE = 'rate';
/** The most the window is widened by (10% of the period up to this) while the store keeps pace. */
export const RATE_MARGIN_MS = 100;

export interface RateLimitOptions {
  /** Jobs sharing a key share the limit; a function computes it from the payload. Default: the job's name. */
  key?: LimitKey;
  /** Starts allowed per period. */
  max: number;
  /** The period in seconds (fractions allowed). */
  per: number;
}

export type Take = { ok: true; at: number } | { ok: false; retryAt: number };

/** The record: the logged starts, and the slowest recent take (ms from its clock read to its write). */
interface RateLog {
  t: number[];
  lag: number;
}

const readLog = (current: RateLog | number[] | null): RateLog =>
  Array.isArray(current) ? { t: current, lag: 0 } : { t: Array.isArray(current?.t) ? current.t : [], lag: Number(current?.lag) || 0 };

/**
 * Takes one start of `key`, or says when one frees. Times only move forward in the log (a start
 * is logged at the latest of the clock and the last start), so its windows hold whatever the
 * clocks of the takers. A take whose write came later than the margin covers (a store slowed by
 * racing takers) gives its start up, its place staying used, and widens the margin by what it
 * measured (fading by 2% a take): the store's own pace sets the margin, and no start lands early.
 */
export async function takeRate(store: RecordStore, key: string, max: number, periodMs: number, clock: Pick<Clock, 'now'>): Promise<Take> {
  const base = Math.min(RATE_MARGIN_MS, periodMs * 0.1);
  const id = recordId(key);
  let margin = base;
  const take = await updateRecord<RateLog | number[], Take>(store, RATE_NAMESPACE, id, () => clock.now(), (current, read) => {
    const { t: log, lag } = readLog(current);
    margin = Math.min(periodMs / 2, Math.max(base, lag));
    const window = periodMs + margin;
    const now = Math.max(read, log.at(-1) ?? 0);
    const live = log.filter((t) => t > now - window);
    if (live.length >= max) return { write: false, result: { ok: false, retryAt: live[live.length - max]! + window } };
    live.push(now);
    return { write: true, value: { t: live, lag: Math.floor(lag * 0.98) }, ttlMs: Math.ceil(window) + 1_000, result: { ok: true, at: now } };
  });
  if (!take.ok) return take;
  const late = clock.now() - take.at;
  // A store slower than half the period: start anyway rather than never.
  if (late <= margin || late > periodMs / 2) return take;
  await updateRecord<RateLog | number[], undefined>(store, RATE_NAMESPACE, id, () => clock.now(), (current) => {
    const log = readLog(current);
    return log.lag >= late ? { write: false, result: undefined } : { write: true, value: { ...log, lag: late }, ttlMs: Math.ceil(periodMs + late) + 1_000, result: undefined };
  });
  return { ok: false, retryAt: take.at + periodMs + late };
}

export function rateLimited(options: RateLimitOptions): JobMiddleware {
  const { max, per } = options;
  if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`rateLimited({ max: ${max} }): max must be a whole number of 1 or more`);
  if (!(typeof per === 'number' && per > 0 && Number.isFinite(per))) throw new RangeError(`rateLimited({ per: ${per} }): per must be a number of seconds above 0`);
  const perMs = per * 1000;
  return async (job, next) => {
    const controls = controlsOfJob(job);
    if (!controls) return next(); // outside a worker there is nothing to limit
    const key = keyOf(options.key, job);
    const take = await takeRate(limitStore(controls, 'rateLimited'), key, max, perMs, controls.clock);
    if (take.ok) return next();
    controls.holdUntil(take.retryAt + jitter(Math.min(250, perMs / max)), `rate limit "${key}": ${max} per ${per} s`, true);
    return undefined;
  };
}
