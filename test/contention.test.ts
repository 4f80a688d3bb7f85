/**
 * Many claimers on one store: several worker processes sharing one SQLite file, and 16
 * concurrent claimers on MariaDB and PostgreSQL. Every job runs exactly once; lock conflicts
 * (SQLITE_BUSY, deadlocks, lock waits) are retried inside the driver and never reach a job.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Leases, ReservedJob } from '../src/store/driver.ts';
import { makeApp, type TestApp } from './helpers/app.ts';
import { TestClock } from './helpers/clock.ts';
import { createTestDatabase } from './helpers/database.ts';
import { dropRedisPrefix, requireRedis, uniqueName } from './helpers/servers.ts';

const LEASES: Leases = { byName: {}, defaultMs: 60_000 };

describe('contention', () => {
  let app: TestApp | undefined;
  afterAll(() => app?.remove());

  const prefix = uniqueName('c');
  afterAll(async () => dropRedisPrefix(await requireRedis(), prefix));
  const shared: [string, () => Promise<Record<string, unknown>>][] = [
    ['one SQLite file', async () => ({ database: 'sqlite:storage/jobs.sqlite' })],
    ['the file driver', async () => ({ driver: 'file' })],
    ['one Redis', async () => ({ driver: 'redis', redis: await requireRedis(), prefix })],
  ];
  for (const [label, config] of shared) {
    it(`three worker processes on ${label} run each of 300 jobs once`, async () => {
      app?.remove();
      app = makeApp({ ...(await config()), sleep_ms: 20 });
      await app.rakit(['job:table']);
      await app.rakit(['migrate']);
      const script = await app.script('fill.ts', `
        import { Job } from 'rakit';
        import Record from './application/jobs/Record.ts';
        await Promise.all(Array.from({ length: 300 }, (_, i) => Record.dispatch({ tag: 'job-' + i })));
        await Job.close();
      `);
      expect(script.code, script.stderr).toBe(0);
      const runs = await Promise.all([1, 2, 3].map(() => app!.rakit(['job:runall', '--stop-when-empty', '--concurrency=4'], { RAKIT_LOG_LEVEL: 'warn' })));
      for (const run of runs) expect(run.code, run.stderr + run.stdout).toBe(0);
      const ran = readFileSync(path.join(app.dir, 'storage/ran.log'), 'utf8').split('\n').filter(Boolean);
      expect(ran).toHaveLength(300);
      expect(new Set(ran).size).toBe(300);
    });
  }

  for (const kind of ['mysql', 'pg'] as const) {
    it(`16 claimers on ${kind} take each of 800 jobs once, and no lock error escapes`, async () => {
      const db = await createTestDatabase(kind);
      try {
        const clock = new TestClock();
        const seed = db.driver(clock);
        for (let i = 0; i < 800; i += 100) {
          await Promise.all(Array.from({ length: 100 }, (_, j) =>
            seed.push({ name: 'n', queue: j % 2 ? 'high' : 'default', payload: `{"i":${i + j}}`, scheduledAt: clock.now(), overlapKey: null })));
        }
        const seen: ReservedJob[] = [];
        await Promise.all(Array.from({ length: 16 }, async () => {
          const driver = db.driver(clock);
          for (;;) {
            const got = await driver.reserve({ queues: ['high', 'default'], names: null, limit: 5, leases: LEASES });
            if (got.length === 0) return;
            seen.push(...got);
            // Half acked, half failed: both paths take row locks beside the claims.
            await Promise.all(got.map((job, k) => (k % 2 ? driver.ack(job) : driver.fail(job, { exception: 'Error: x' }))));
          }
        }));
        expect(seen).toHaveLength(800);
        expect(new Set(seen.map((j) => j.id)).size).toBe(800);
        expect((await seed.stats()).reduce((n, s) => n + s.ready + s.reserved, 0)).toBe(0);
      } finally {
        await db.drop();
      }
    });
  }
});
