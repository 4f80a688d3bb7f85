/**
 * Whether a driver has the dashboard's capabilities (admin-store.ts), the one check for it. Every
 * driver rakit builds has them; a worker or manager given a driver of its own (a wrapper, a
 * test's) pauses nothing and writes no beats or metrics without them.
 */
import type { AdminStore } from './admin-store.ts';

/** The driver as an AdminStore, or null when it lacks the capabilities. */
export function adminOf(driver: object): AdminStore | null {
  const d = driver as Partial<AdminStore>;
  return typeof d.pausedQueues === 'function' && typeof d.beat === 'function' && typeof d.addMetrics === 'function' ? (driver as AdminStore) : null;
}
