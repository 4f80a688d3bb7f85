import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Files that must run alone: they start private servers on fixed ports, drive a supervisord of
 * their own, or measure wall time closely enough that a neighbour's load would fail them. The
 * full tier runs them after the others, one at a time.
 */
const ALONE = [
  'test/chaos/chaos.test.ts',
  'test/ops/supervisor.test.ts',
  'test/drivers/sentinel.test.ts',
  'test/drivers/wake-and-restart.test.ts',
  'test/workflows/flow-control.test.ts',
  'test/cli/hard-timeout.test.ts',
  'test/cli/stops.test.ts',
  'test/contention.test.ts',
];

/** What both tiers share (vitest.quick.config.ts is the quick one). */
export const shared = {
  // Tests run the sources: job files of the fixture apps that import 'rakit' get src/ too, the
  // modules the test itself uses. The binary the tests start runs dist/, built first (global-setup.ts).
  resolve: { alias: [{ find: /^rakit$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) }] },
  test: {
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // Two files at a time on two cores: most of a test's time is spent waiting on servers and
    // on the processes it starts.
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
};

/** The full tier (`npm run test:all`): every test file on every store, the ALONE files last and one at a time. */
export default defineConfig({
  ...shared,
  test: {
    ...shared.test,
    projects: [
      { extends: true, test: { name: 'full', include: ['test/**/*.test.ts'], exclude: ALONE, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'alone', include: ALONE, poolOptions: { forks: { singleFork: true } }, sequence: { groupOrder: 1 } } },
    ],
  },
});
