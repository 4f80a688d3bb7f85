import { defineConfig } from 'vitest/config';
import { shared } from './vitest.config.ts';

/**
 * The quick tier (`npm test`, a few minutes): unit tests, the conformance suites, the CLI
 * in-process and the manual's scenario, on the stores of QUICK_STORES. A list on purpose: a new
 * test file runs in the full tier only until it is added here.
 */
const QUICK = [
  'test/config.test.ts',
  'test/discovery.test.ts',
  'test/dispatch.test.ts',
  'test/dedup.test.ts',
  'test/groups.test.ts',
  'test/transactions.test.ts',
  'test/logger.test.ts',
  'test/worker.test.ts',
  'test/database-errors.test.ts',
  'test/core/*.test.ts',
  'test/conformance/database.test.ts',
  'test/conformance/redis.test.ts',
  'test/conformance/file.test.ts',
  'test/schedule/runner.test.ts',
  'test/schedule/task.test.ts',
  'test/schedule/store.test.ts',
  'test/drivers/queue-policy.test.ts',
  'test/drivers/combined-push.test.ts',
  'test/dashboard/series.test.ts',
  'test/workflows/flows.test.ts',
  'test/cli/in-process.test.ts',
  'test/cli/scenario.test.ts',
  'test/layout.test.ts',
  'test/api/results.test.ts',
  'test/outbox.test.ts',
  'test/api/fake.test.ts',
  'test/api/fake-stores.test.ts',
  'test/drivers/sync.test.ts',
  'test/cli/cancel-in-process.test.ts',
];

/** The stores the quick tier covers (TEST_STORES, test/helpers/servers.ts); the full tier covers all seven. */
const QUICK_STORES = 'sqlite,redis,file';

export default defineConfig({
  ...shared,
  test: { ...shared.test, include: QUICK, env: { TEST_STORES: QUICK_STORES } },
});
