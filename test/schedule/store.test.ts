/**
 * The scheduler's store over the records of each of the seven stores (SQLite, MariaDB,
 * PostgreSQL, Redis, Redis Cluster, file, memcached), and the claims it leaves behind.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/infra/config.ts';
import type { FullDriver } from '../../src/store/driver.ts';
import { createDriver } from '../../src/drivers/index.ts';
import { FileDriver } from '../../src/drivers/file/file.ts';
import { CLAIMS, ScheduleStore } from '../../src/schedule/store.ts';
import { TestClock } from '../helpers/clock.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { STORES } from '../helpers/stores.ts';
import { storeContract, type StoreHarness } from './store-contract.ts';

/** Drivers made from an app's config, as each host's scheduler makes its own. */
async function harness(config: Record<string, unknown>, dir: string, drop: () => Promise<void>): Promise<StoreHarness> {
  const resolved = resolveConfig(config, { root: dir, env: {} });
  const drivers: FullDriver[] = [];
  return {
    config,
    async driver(clock) {
      const driver = await createDriver(resolved, clock);
      drivers.push(driver);
      return driver;
    },
    async teardown() {
      await Promise.all(drivers.map((d) => d.close()));
      await drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

for (const store of STORES) {
  storeContract(store.label, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-schedule-'));
    if (store.database) {
      // The records live in the jobs tables' `_records`, made by the migration job:table writes.
      const db = await createTestDatabase(store.database);
      return harness({ driver: 'database', database: db.url, table: db.table, failed_table: db.failedTable }, dir, () => db.drop());
    }
    const { config, drop } = await store.setup(dir);
    return harness(config, dir, drop);
  });
}

describe('claims of (task, tick)', () => {
  it('are dropped from the file store once older than kept, by the next scheduler run', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-schedule-file-'));
    try {
      const folder = path.join(dir, 'jobs');
      const clock = new TestClock();
      const minute = clock.now();
      // One process per minute, as schedule:run runs: each claims every task's tick.
      for (let i = 0; i < 5; i++) {
        const store = new ScheduleStore(new FileDriver(folder, clock), clock);
        for (const task of ['report', 'backup', 'prune']) expect(await store.claim(task, minute + i * 60_000, `p${i}`, 150_000)).toBe(true);
        clock.advance(60_000);
      }
      // Kept 2.5 minutes: the claims of the last 2 minutes and the ones just made, not all 5 minutes'.
      expect(readdirSync(path.join(folder, 'records', CLAIMS)).filter((f) => f.endsWith('.rec'))).toHaveLength(9);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
