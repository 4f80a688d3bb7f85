import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AdminDriver } from '../../src/core/driver.ts';
import { FileDriver } from '../../src/core/drivers/file.ts';
import { adminContract } from './admin-contract.ts';

adminContract('file', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'rakit-file-admin-'));
  const drivers: AdminDriver[] = [];
  return {
    driver(clock) {
      const driver = new FileDriver(path.join(root, 'jobs'), clock);
      drivers.push(driver);
      return driver;
    },
    async teardown() {
      await Promise.all(drivers.map((d) => d.close()));
      rmSync(root, { recursive: true, force: true });
    },
  };
});
