/**
 * The chaos suite at a modest size, as part of the tests (run it bigger with `npm run chaos`):
 * per store, kill -9 random worker processes under load, restart MariaDB and Redis mid-run,
 * SIGTERM the manager; nothing may be lost, and only jobs in flight in a killed process may run twice.
 */
import { describe, expect, it } from 'vitest';
import { runChaos, type ChaosStore } from './harness.ts';

const STORES: ChaosStore[] = ['sqlite', 'mysql', 'pg', 'redis', 'file'];

describe('chaos: kill -9, server restarts, SIGTERM', () => {
  for (const store of STORES) {
    it(`${store}: nothing lost, duplicates only among jobs running in a killed process`, async () => {
      const restart = store === 'mysql' || store === 'redis';
      // With a restart, the work must outlast it: 16 slots take about 10 s over 200 jobs of up to
      // 1.5 s, against about 5 s of kills before the restart (at up to 0.4 s, a fast machine had
      // finished them all by then, and nobody was left to come back).
      const workMs = restart ? 1500 : 400;
      const report = await runChaos({ store, jobs: 200, kills: 6, processes: 4, concurrency: 4, workMs, restart, sigterm: true });
      console.log(`chaos ${store}: ${JSON.stringify(report)}`);
      expect(report.kills).toBeGreaterThan(0);
      expect(report.lost).toBe(0);
      expect(report.failed).toBe(0); // 16 workers: no deadlock (or anything else) fails a job
      expect(report.duplicatesOutsideKilled).toBe(0);
      expect(report.sigtermExit).toBe(0);
      if (restart) {
        // Back at work within 5 s of the server's return (the jobs outlast the chaos).
        expect(report.backAfterRestartMs).not.toBeNull();
        expect(report.backAfterRestartMs!).toBeLessThan(5000);
        expect(report.workersBackWithin5s).toBeGreaterThanOrEqual(3);
      }
    }, 240_000);
  }
});
