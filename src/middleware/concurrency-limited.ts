/**
 * `concurrencyLimited({ key, max })`: at most `max` jobs of one key running at once, across every
 * worker and host sharing the store. The holders, each with its lease end, live in the record
 * `concurrency/<key>`; an attempt takes a place before its run() and gives it back when it ends.
 * A holder whose process died frees its place at its lease end. A job finding every place taken
 * is held back, uncounted, about a second (with jitter).
 */
import { controlsOfJob } from '../api/jobable.ts';
import type { Clock } from '../infra/clock.ts';
import type { RecordStore } from '../store/record-store.ts';
import type { JobMiddleware } from '../api/job-types.ts';
import { jitter, keyOf, limitStore, recordId, updateRecord, type LimitKey } from './limit-record.ts';

export const CONCURRENCY_NAMESPACE = 'concurrency';
/** How long a job that found every place taken waits before it is due again (plus up to half of it). */
export const CONCURRENCY_RETRY_MS = 1_000;

export interface ConcurrencyLimitOptions {
  /** Jobs sharing a key share the limit; a function computes it from the payload. Default: the job's name. */
  key?: LimitKey;
  /** Jobs of the key allowed to run at once. */
  max: number;
}

/** holder → when its place frees by itself (its lease end), epoch ms. */
type Holders = Record<string, number>;

const live = (holders: Holders | null, now: number): Holders =>
  Object.fromEntries(Object.entries(holders ?? {}).filter(([, until]) => until > now));

/** Takes a place for `holder` until `until`; false when all `max` are held. */
export function acquirePlace(store: RecordStore, key: string, max: number, holder: string, until: number, clock: Pick<Clock, 'now'>): Promise<boolean> {
  return updateRecord<Holders, boolean>(store, CONCURRENCY_NAMESPACE, recordId(key), () => clock.now(), (current, now) => {
    const holders = live(current, now);
    if (holder in holders) return { write: false, result: true };
    if (Object.keys(holders).length >= max) return { write: false, result: false };
    holders[holder] = until;
    return { write: true, value: holders, ttlMs: Math.max(...Object.values(holders)) - now + 1_000, result: true };
  });
}

/** Gives `holder`'s place back. */
export function releasePlace(store: RecordStore, key: string, holder: string, clock: Pick<Clock, 'now'>): Promise<void> {
  return updateRecord<Holders, undefined>(store, CONCURRENCY_NAMESPACE, recordId(key), () => clock.now(), (current, now) => {
    const holders = live(current, now);
    if (!(holder in holders)) return current && Object.keys(holders).length === 0 ? { write: true, value: null, ttlMs: null, result: undefined } : { write: false, result: undefined };
    delete holders[holder];
    const ends = Object.values(holders);
    return ends.length === 0
      ? { write: true, value: null, ttlMs: null, result: undefined }
      : { write: true, value: holders, ttlMs: Math.max(...ends) - now + 1_000, result: undefined };
  });
}

export function concurrencyLimited(options: ConcurrencyLimitOptions): JobMiddleware {
  const { max } = options;
  if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`concurrencyLimited({ max: ${max} }): max must be a whole number of 1 or more`);
  return async (job, next) => {
    const controls = controlsOfJob(job);
    if (!controls) return next();
    const { clock, job: claimed } = controls;
    const records = limitStore(controls, 'concurrencyLimited');
    const key = keyOf(options.key, job);
    const holder = `${claimed.id}:${claimed.token}`;
    if (!(await acquirePlace(records, key, max, holder, claimed.reservedUntil, clock))) {
      controls.holdUntil(clock.now() + CONCURRENCY_RETRY_MS + jitter(CONCURRENCY_RETRY_MS / 2), `concurrency limit "${key}": ${max} at once`, true);
      return undefined;
    }
    try {
      return await next();
    } finally {
      // Should the store be out of reach now, the place frees at the lease end.
      await releasePlace(records, key, holder, clock).catch(() => undefined);
    }
  };
}
