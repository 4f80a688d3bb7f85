import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FullDriver } from '../../src/store/driver.ts';
import { FileDriver } from '../../src/drivers/file/file.ts';
import { adminContract } from './admin-contract.ts';
import { driverContract, type DriverHarness } from './driver-contract.ts';
import { failedContract } from './failed-contract.ts';
import { batchContract } from './batch-contract.ts';
import { flowContract } from './flow-contract.ts';
import { limitContract } from './limit-contract.ts';
import { dedupContract } from './dedup-contract.ts';
import { groupContract } from './group-contract.ts';

const file = async (): Promise<DriverHarness> => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'rakit-file-'));
  const drivers: FullDriver[] = [];
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
};

driverContract('file', file);
adminContract('file', file);
failedContract('file', file);
flowContract('file', file);
batchContract('file', file);
limitContract('file', file);
dedupContract('file', file);
groupContract('file', file);
