import { adminContract } from './admin-contract.ts';
import { driverContract } from './driver-contract.ts';
import { failedContract } from './failed-contract.ts';
import { batchContract } from './batch-contract.ts';
import { flowContract } from './flow-contract.ts';
import { limitContract } from './limit-contract.ts';
import { dedupContract } from './dedup-contract.ts';
import { groupContract } from './group-contract.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { DATABASES } from '../helpers/servers.ts';

for (const kind of DATABASES) {
  for (const contract of [driverContract, adminContract, failedContract, flowContract, batchContract, limitContract, dedupContract, groupContract]) {
    contract(`database on ${kind}`, async () => {
      const db = await createTestDatabase(kind);
      return { driver: (clock) => db.driver(clock), teardown: () => db.drop() };
    });
  }
}
