/**
 * How a running job finds its batch (`this.batch()`): the worker binds, to the context it gives
 * the job, a function that reads the batch fresh. The table is shared through a registered symbol,
 * so a job class loaded from the package's other build (ESM or CJS) finds it too.
 */
import type { Batch } from './batches/batch-handle.ts';

type Open = () => Promise<Batch | null>;

const KEY = Symbol.for('rakit.flowContexts');
const table = ((globalThis as Record<symbol, unknown>)[KEY] ??= new WeakMap<object, Open>()) as WeakMap<object, Open>;

export function bindBatch(context: object, open: Open): void {
  table.set(context, open);
}

/** The batch of the job running with `context`, read now; null outside a batch. */
export function batchOfContext(context: object | undefined): Promise<Batch | null> {
  const open = context ? table.get(context) : undefined;
  return open ? open() : Promise.resolve(null);
}
