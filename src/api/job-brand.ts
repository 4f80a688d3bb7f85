/**
 * How a value is known for a job class: the brand every `Jobable` subclass inherits, looked up by
 * a registered symbol so it holds across module copies (an app and a linked package may load
 * two). Discovery needs only this, not `Jobable` and the dispatch code behind it.
 */
import type { JobClass } from './job-types.ts';

export const JOBABLE_BRAND = Symbol.for('rakit.jobable');

/** A class that extends Jobable and has its own `run()` (Jobable itself has none: it is abstract). */
export function isJobClass(value: unknown): value is JobClass {
  return typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[JOBABLE_BRAND] === true &&
    typeof (value as { prototype?: { run?: unknown } }).prototype?.run === 'function';
}
