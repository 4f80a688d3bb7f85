/**
 * What the built-in limits (rate-limited.ts, concurrency-limited.ts, throttle-exceptions.ts)
 * share: the record id of a limit's key, the key a job gets from its options, and a
 * compare-and-set loop over a JSON record of the RecordStore, so each limit is one atomic
 * read-modify-write against every worker on every host.
 */
import { createHash } from 'node:crypto';
import type { AttemptControls } from '../worker/attempt-controls.ts';
import { UsageError } from '../infra/errors.ts';
import { RECORD_ID_MAX, type RecordStore } from '../store/record-store.ts';
import type { JobInstance } from '../api/job-types.ts';
import type { Payload } from '../api/payload.ts';

/** A limit's key: fixed, or computed from the job's payload (per customer, per API account, ...). */
export type LimitKey = string | ((payload: Payload, job: JobInstance<any>) => string | number);

/** The key of `job` under `key` (the job's name when none is given). */
export function keyOf(key: LimitKey | undefined, job: JobInstance<any>): string {
  if (key === undefined) return (job.constructor as { nameOfJob?: string }).nameOfJob ?? job.constructor.name;
  return String(typeof key === 'function' ? key(job.payload as Payload, job) : key);
}

/** The store a limit keeps its records in; a driver without records cannot keep a limit, and says so. */
export function limitStore(controls: AttemptControls, what: string): RecordStore {
  if (!controls.records) throw new UsageError(`${what} needs a store with records (compare-and-set); this driver has none`);
  return controls.records;
}

/** A record id for any key: the key itself when it fits, else a hash of it. */
export function recordId(key: string): string {
  return key.length <= RECORD_ID_MAX ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/** What one step of `updateRecord` decides: write `value` (null: delete) and answer `result`; or answer without writing. */
export type Update<T, R> = { write: true; value: T | null; ttlMs: number | null; result: R } | { write: false; result: R };

/**
 * Reads the JSON record, lets `decide` choose, and writes the choice at the version read; on a
 * lost race, reads again. `decide` is given the time read after the record, just before the write
 * (it must not wait).
 */
export async function updateRecord<T, R>(store: RecordStore, namespace: string, id: string, now: () => number, decide: (current: T | null, now: number) => Update<T, R>): Promise<R> {
  for (let tries = 0; ; tries++) {
    const record = await store.getRecord(namespace, id);
    const at = now();
    const step = decide(record ? parse<T>(record.value) : null, at);
    if (!step.write) return step.result;
    const written = step.value === null
      ? record === null || (await store.deleteRecord(namespace, id, record.version)) || (await store.getRecord(namespace, id)) === null
      : await store.casRecord(namespace, id, record?.version ?? null, JSON.stringify(step.value), step.ttlMs);
    if (written) return step.result;
    if (tries >= 200) throw new Error(`The ${namespace} record "${id}" changed under 200 writes in a row`);
  }
}

function parse<T>(text: string): T | null {
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

/** A pause of up to `ms`, so jobs held back together do not all come back at the same instant. */
export function jitter(ms: number): number {
  return Math.floor(Math.random() * ms);
}
