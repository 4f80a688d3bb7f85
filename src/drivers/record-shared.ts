/**
 * What the file and memcached drivers share for the flow capabilities (record-store.ts): the
 * limits on record names and values, checked before anything is stored, and the overlap keys
 * of a bulk push decided within the call.
 */
import type { NewJob } from '../store/driver.ts';
import { UsageError } from '../infra/errors.ts';
import { RECORD_ID_MAX, RECORD_NAMESPACE, RECORD_VALUE_MAX } from '../store/record-store.ts';

/** Throws a UsageError naming the limit when a record's namespace, id or value is out of bounds. */
export function checkRecord(namespace: string, id: string | null, value?: string): void {
  if (!RECORD_NAMESPACE.test(namespace)) {
    throw new UsageError(`Record namespace "${namespace}" is not allowed: use lower-case letters, digits and "-", at most 32`);
  }
  if (id !== null && (id.length === 0 || id.length > RECORD_ID_MAX)) {
    throw new UsageError(`Record id of ${id.length} characters in "${namespace}": ids have 1 to ${RECORD_ID_MAX}`);
  }
  if (value !== undefined && Buffer.byteLength(value) > RECORD_VALUE_MAX) {
    throw new UsageError(`Record value of ${Buffer.byteLength(value)} bytes in "${namespace}": values are at most ${RECORD_VALUE_MAX / 1024} KiB of text`);
  }
}

/**
 * For each job of a bulk push, the position of an earlier job of the same call with its overlap
 * key (that job is the one stored, this one is skipped), or -1 when it is the first or has none.
 */
export function overlapsWithinCall(jobs: readonly NewJob[]): number[] {
  const first = new Map<string, number>();
  return jobs.map((job, i) => {
    if (job.overlapKey === null) return -1;
    const earlier = first.get(job.overlapKey);
    if (earlier !== undefined) return earlier;
    first.set(job.overlapKey, i);
    return -1;
  });
}

/** Runs `fn` on every item, at most `width` at a time, and returns the results in order. */
export async function inChunks<T, R>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    out.push(...(await Promise.all(items.slice(i, i + width).map((item, j) => fn(item, i + j)))));
  }
  return out;
}
