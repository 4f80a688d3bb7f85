/**
 * What every dispatch (single, bulk, chain, batch) is stored inside, the one seam between a
 * dispatch and what follows its storing: `storing()` keeps the process alive while it is stored
 * and, where the store asks for it (the `sync` driver, through `noteStored`), runs the jobs it
 * stored before the dispatch resolves, so their final failure rejects the dispatch. The scope is
 * an AsyncLocalStorage, used only once the sync driver or `Job.fake()` asks for it (`useScopes`):
 * on Node 20 a first `AsyncLocalStorage.run` makes every later promise of the process pay for
 * async hooks, so an app on a real store never runs one.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { holding } from '../infra/keep-alive.ts';

/** Runs the jobs of these ids now, rejecting with a final failure among them. */
export type RunStored = (ids: readonly string[]) => Promise<void>;

interface Scope {
  ids: string[];
  run: RunStored | null;
  /** The dispatch's first reading of its runtime's clock: when it was dispatched. */
  at: number | null;
}

const scope = new AsyncLocalStorage<Scope>();
/** Set once the sync driver is built or Job.fake() turned on. */
let scoped = false;

/** From now on dispatches are stored inside a scope (the sync driver, Job.fake()). */
export function useScopes(): void {
  scoped = true;
}

/** Stores a dispatch with `store`, then runs what the store asked to be run (noteStored). */
export function storing<T>(store: () => Promise<T>): Promise<T> {
  if (!scoped) return holding(store);
  return holding(async () => {
    const stored: Scope = { ids: [], run: null, at: null };
    const result = await scope.run(stored, store);
    if (stored.run && stored.ids.length > 0) await stored.run(stored.ids);
    return result;
  });
}

/** Called by a store that runs jobs at dispatch: these ids are to be run by `run` once the dispatch is stored. */
export function noteStored(ids: readonly string[], run: RunStored): void {
  const current = scope.getStore();
  if (!current) return;
  current.ids.push(...ids);
  current.run = run;
}

/** A reading of the runtime's clock; the first inside a dispatch is kept as its time (dispatchedAt). */
export function noteReading(time: number): number {
  const current = scope.getStore();
  if (current && current.at === null) current.at = time;
  return time;
}

/** When the current dispatch first read the clock (the time its delays count from); null outside one or before. */
export function dispatchedAt(): number | null {
  return scope.getStore()?.at ?? null;
}
