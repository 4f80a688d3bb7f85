/**
 * Job names: the kebab-case of a class name (`HTMLToPDF` → `html-to-pdf`), the nearest known
 * names for "did you mean" hints, and the lengths every store can hold: a job name of at most
 * MAX_NAME characters, and overlap keys that fit the 191-character column on every driver.
 */
import { createHash } from 'node:crypto';
import { distance } from 'fastest-levenshtein';
import { UsageError } from './errors.ts';

export function kebabCase(className: string): string {
  return className
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[_\s]+/g, '-')
    .toLowerCase();
}

/** Up to three known names closest to `name`, nearest first. */
export function nearestNames(name: string, known: Iterable<string>): string[] {
  return [...known]
    .map((candidate) => ({ candidate, d: distance(name, candidate) }))
    .filter(({ candidate, d }) => d <= Math.max(3, Math.floor(candidate.length / 2)))
    .sort((a, b) => a.d - b.d || a.candidate.localeCompare(b.candidate))
    .slice(0, 3)
    .map(({ candidate }) => candidate);
}

/** Queue names: a letter or digit, then letters, digits and . _ : - (64 at most); never `.` or `..`. */
export const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** The longest job name every store holds (the `name` column, a VARCHAR(191)). */
export const MAX_NAME = 191;

/** Refuses a job name no store can hold, before anything is stored. */
export function assertJobName(name: string): void {
  if (name.length > MAX_NAME) {
    throw new UsageError(`The job name "${name.slice(0, 40)}…" is ${name.length} characters: at most ${MAX_NAME} fit every store; give the class a shorter name`);
  }
}

/** The longest overlap key stored (the `overlap_key` column, a VARCHAR(191), in bytes so memcached agrees). */
const MAX_KEY_BYTES = 191;

/**
 * An overlap key as stored, the same on every driver: as given when it fits, else a readable
 * prefix and the sha1 of the whole key (`send-report#…~<40 hex>`), so two long keys that differ
 * anywhere stay two keys.
 */
export function storedOverlapKey(key: string): string {
  if (Buffer.byteLength(key) <= MAX_KEY_BYTES) return key;
  const hash = createHash('sha1').update(key).digest('hex');
  let prefix = '';
  for (const char of key) {
    if (Buffer.byteLength(prefix + char) > MAX_KEY_BYTES - hash.length - 1) break;
    prefix += char;
  }
  return `${prefix}~${hash}`;
}
