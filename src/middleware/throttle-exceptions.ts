/**
 * `throttleExceptions({ key, max, per })`: once jobs of one key have thrown `max` times within
 * `per` seconds, the key is closed for `per` seconds: its jobs are held back, uncounted, without
 * running (a failing API is left alone). The exception itself still used its attempt and is
 * retried as usual. A success clears the count. State: the record `throttle/<key>`.
 */
import { controlsOfJob } from '../api/jobable.ts';
import type { Clock } from '../infra/clock.ts';
import type { RecordStore } from '../store/record-store.ts';
import type { JobMiddleware } from '../api/job-types.ts';
import { jitter, keyOf, limitStore, recordId, updateRecord, type LimitKey } from './limit-record.ts';

export const THROTTLE_NAMESPACE = 'throttle';

export interface ThrottleOptions {
  /** Jobs sharing a key share the count; a function computes it from the payload. Default: the job's name. */
  key?: LimitKey;
  /** Exceptions within `per` that close the key. */
  max: number;
  /** Seconds: the window the exceptions are counted in, and how long the key stays closed. */
  per: number;
}

/** Recent exception times, and until when the key is closed. */
export interface ThrottleState {
  errors: number[];
  closedUntil: number | null;
}

/** When the key is closed until, or null when it is open. */
export async function throttledUntil(store: RecordStore, key: string, clock: Pick<Clock, 'now'>): Promise<{ until: number | null; errors: number }> {
  const record = await store.getRecord(THROTTLE_NAMESPACE, recordId(key));
  if (!record) return { until: null, errors: 0 };
  const state = JSON.parse(record.value) as ThrottleState;
  return { until: state.closedUntil !== null && state.closedUntil > clock.now() ? state.closedUntil : null, errors: state.errors.length };
}

/** Counts one exception; true when it closed the key. */
export function noteException(store: RecordStore, key: string, max: number, perMs: number, clock: Pick<Clock, 'now'>): Promise<boolean> {
  return updateRecord<ThrottleState, boolean>(store, THROTTLE_NAMESPACE, recordId(key), () => clock.now(), (current, now) => {
    const errors = [...(current?.errors ?? []).filter((t) => t > now - perMs), now];
    const closes = errors.length >= max;
    const value: ThrottleState = closes ? { errors: [], closedUntil: now + perMs } : { errors, closedUntil: current?.closedUntil ?? null };
    return { write: true, value, ttlMs: Math.ceil(perMs) * 2 + 1_000, result: closes };
  });
}

/** A success: the count starts again. */
export async function clearExceptions(store: RecordStore, key: string): Promise<void> {
  const record = await store.getRecord(THROTTLE_NAMESPACE, recordId(key));
  if (record) await store.deleteRecord(THROTTLE_NAMESPACE, recordId(key), record.version);
}

export function throttleExceptions(options: ThrottleOptions): JobMiddleware {
  const { max, per } = options;
  if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`throttleExceptions({ max: ${max} }): max must be a whole number of 1 or more`);
  if (!(typeof per === 'number' && per > 0 && Number.isFinite(per))) throw new RangeError(`throttleExceptions({ per: ${per} }): per must be a number of seconds above 0`);
  const perMs = per * 1000;
  return async (job, next) => {
    const controls = controlsOfJob(job);
    if (!controls) return next();
    const { clock } = controls;
    const records = limitStore(controls, 'throttleExceptions');
    const key = keyOf(options.key, job);
    const state = await throttledUntil(records, key, clock);
    if (state.until !== null) {
      controls.holdUntil(state.until + jitter(Math.min(1_000, perMs / 10)), `exceptions throttled for "${key}": ${max} within ${per} s`, true);
      return undefined;
    }
    let result: unknown;
    try {
      result = await next();
    } catch (error) {
      await noteException(records, key, max, perMs, clock);
      throw error;
    }
    if (state.errors > 0) await clearExceptions(records, key).catch(() => undefined);
    return result;
  };
}
