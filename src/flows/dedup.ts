/**
 * Deduplication windows, built once over records (no store code): what a dispatch with
 * `.debounce(key, ms)`, `.throttle(key, ms)` (or a class's `static uniqueFor`) or a class's
 * `static uniqueUntil = 'started'` stores, and what its job does when it is about to start.
 * - throttle: the first dispatch of a key creates the record `throttle/<key>` for the window (one
 *   compare-and-set, so of racing dispatchers exactly one stores); the others are skipped with the
 *   id the record names.
 * - debounce: each dispatch stores its job `ms` ahead and names it in `debounce/<key>`; the job it
 *   replaced is cancelled while still pending, and if it was claimed meanwhile it sees at its start
 *   that it is no longer the one named and is skipped. Of a burst, the last named runs, once.
 * - uniqueUntil 'started': the job's overlap key is freed as its attempt starts (the native
 *   release of the browser), so a new dispatch is taken while it runs.
 * The job carries what it needs at its start in its envelope (envelope.ts): a job without costs nothing.
 */
import type { RecordStore } from '../store/record-store.ts';
import type { BrowsableQueue, LockBrowser } from '../store/admin-store.ts';
import { storedOverlapKey } from '../infra/naming.ts';
import { addToFlow } from './envelope.ts';

export type DedupStore = Pick<RecordStore, 'getRecord' | 'casRecord'> & Pick<BrowsableQueue, 'cancelJob'> & Pick<LockBrowser, 'releaseOverlapLock'>;

/** What a dispatch with a deduplication window did: stored a job, stored one in place of a pending one, or stored nothing. */

/** The record namespaces windows are kept in. */
export const WINDOW_NAMESPACES: ReadonlySet<string> = new Set(['throttle', 'debounce']);

/** How long a debounce record outlives its job's due time: a job still pending after that runs whatever the record says. */
const DEBOUNCE_KEEP_MS = 7 * 24 * 3600_000;
const RACE_TRIES = 20;

/** The record id of a user's key, hashed past what a record id holds (as overlap keys are). */
export const dedupKey = (key: string) => storedOverlapKey(key);

/** Throttle: claims the window for `key`; false with the id of the job stored in it (null while that one is being stored). */
export async function claimWindow(store: DedupStore, key: string, ms: number): Promise<{ claimed: true } | { claimed: false; existingId: string | null }> {
  for (let i = 0; i < RACE_TRIES; i++) {
    if (await store.casRecord('throttle', key, null, '', ms)) return { claimed: true };
    const held = await store.getRecord('throttle', key);
    if (held) return { claimed: false, existingId: held.value === '' ? null : held.value };
  }
  return { claimed: false, existingId: null };
}

/** Throttle: names the job stored in the window claimed at `claimedAt`, for the window's remaining time. */
export async function nameInWindow(store: DedupStore, key: string, id: string, claimedAt: number, ms: number, now: number): Promise<void> {
  const held = await store.getRecord('throttle', key);
  const left = claimedAt + ms - now;
  if (held && held.value === '' && left > 0) await store.casRecord('throttle', key, held.version, id, left);
}

interface Named { id: string; started?: true }

/** Debounce: names job `id` (due `ms` from now) as the one to run for `key`; replaced when it took the place of a pending one, which is cancelled. */
export async function nameLatest(store: DedupStore, key: string, id: string, ms: number): Promise<'stored' | 'replaced'> {
  for (let i = 0; i < RACE_TRIES; i++) {
    const held = await store.getRecord('debounce', key);
    const before = held ? (JSON.parse(held.value) as Named) : null;
    if (!(await store.casRecord('debounce', key, held?.version ?? null, JSON.stringify({ id } satisfies Named), ms + DEBOUNCE_KEEP_MS))) continue;
    if (!before || before.started || before.id === id) return 'stored';
    // Claimed meanwhile, it is not cancelled here: at its start it finds itself replaced (mayStart).
    await store.cancelJob(before.id);
    return 'replaced';
  }
  throw new Error(`Could not name the latest job of debounce key "${key}": ${RACE_TRIES} other dispatches came first`);
}

/** Debounce, as job `id` is about to start: true when it is still the one named for `key` (marked started), else why it is skipped. */
export async function mayStartDebounced(store: DedupStore, key: string, id: string): Promise<true | string> {
  for (let i = 0; i < RACE_TRIES; i++) {
    const held = await store.getRecord('debounce', key);
    if (!held) return true; // outlived its record: run rather than lose it
    const named = JSON.parse(held.value) as Named;
    if (named.id !== id) return 'a later dispatch with its debounce key replaced it';
    if (named.started) return true; // a retry
    if (await store.casRecord('debounce', key, held.version, JSON.stringify({ id, started: true } satisfies Named), DEBOUNCE_KEEP_MS)) return true;
  }
  return true;
}

/** A dispatch's deduplication window: `.debounce()`, `.throttle()` or the class's `uniqueFor`. */
export interface DedupWindow { kind: 'debounce' | 'throttle'; key: string; ms: number }

/** What `storeInWindow` did: the job stored (and when it is due), or why nothing was, with the id of the job that holds the place. */
export type WindowResult =
  | { outcome: 'stored' | 'replaced'; id: string; scheduledAt: number }
  | { outcome: 'skipped'; why: 'throttled' | 'overlapping'; existingId: string | null };

/**
 * Stores `job` under its window with `push`, which says whether the store itself skipped it for
 * its overlap key.
 */
export async function storeInWindow<J extends { scheduledAt: number; payload: string }>(
  store: DedupStore & Pick<RecordStore, 'deleteRecord'>, window: DedupWindow, job: J, clock: () => number,
  push: (job: J) => Promise<{ id: string } | { id?: undefined; existingId: string | null }>,
): Promise<WindowResult> {
  const key = dedupKey(window.key);
  const now = clock();
  if (window.kind === 'throttle') {
    const claim = await claimWindow(store, key, window.ms);
    if (!claim.claimed) return { outcome: 'skipped', why: 'throttled', existingId: claim.existingId };
    const pushed = await push(job).catch(async (error: unknown) => {
      await store.deleteRecord('throttle', key).catch(() => undefined);
      throw error;
    });
    if (pushed.id === undefined) {
      await store.deleteRecord('throttle', key);
      return { outcome: 'skipped', why: 'overlapping', existingId: pushed.existingId };
    }
    await nameInWindow(store, key, pushed.id, now, window.ms, clock());
    return { outcome: 'stored', id: pushed.id, scheduledAt: job.scheduledAt };
  }
  const due = { ...job, scheduledAt: Math.max(job.scheduledAt, now + window.ms), payload: addToFlow({ debounce: key }, job.payload) };
  const pushed = await push(due);
  if (pushed.id === undefined) return { outcome: 'skipped', why: 'overlapping', existingId: pushed.existingId };
  return { outcome: await nameLatest(store, key, pushed.id, window.ms), id: pushed.id, scheduledAt: due.scheduledAt };
}
