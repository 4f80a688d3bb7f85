import { adminContract } from './admin-contract.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { DATABASES } from '../helpers/servers.ts';

for (const kind of DATABASES) {
  adminContract(`database on ${kind}`, async () => {
    const db = await createTestDatabase(kind);
    return { driver: (clock) => db.driver(clock), teardown: () => db.drop() };
  });
}
