/**
 * Whether a driver has the dashboard's capabilities (admin-store.ts), the one check for it: the
 * worker's pause, heartbeats and metrics and the `job:pause`/`job:resume` commands use them
 * where the driver has them.
 */
import type { AdminStore } from './admin-store.ts';
import type { Driver } from './driver.ts';
import { UsageError } from './errors.ts';

/** The driver as an AdminStore, or null when it lacks the capabilities. */
export function adminOf(driver: object): AdminStore | null {
  const d = driver as Partial<AdminStore>;
  return typeof d.pausedQueues === 'function' && typeof d.beat === 'function' && typeof d.addMetrics === 'function' ? (driver as AdminStore) : null;
}

/** The driver as an AdminStore; a UsageError saying so when it lacks the capabilities. */
export function requireAdmin(driver: Driver): AdminStore {
  const admin = adminOf(driver);
  if (!admin) throw new UsageError(`The ${driver.description} driver cannot pause queues or keep worker records and metrics`);
  return admin;
}
