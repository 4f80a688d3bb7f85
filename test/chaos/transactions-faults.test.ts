/**
 * Jobs dispatched in the app's transaction, at a modest size (the full run: `npm run
 * chaos:transactions`): per pairing, 1,000 transactions, a third rolled back on purpose, with the
 * app process, the relay, the manager and the workers killed -9 at random and started again; the
 * jobs run are the committed rows, each once but where a killed worker's run was cut short.
 */
import { describe, expect, it } from 'vitest';
import { TX_PAIRINGS, formatTxFaults, runTxFaults } from './transactions-faults.ts';

describe('jobs in the app\'s transaction under kill -9', () => {
  for (const pairing of TX_PAIRINGS) {
    it(`${pairing}: the jobs run are the committed rows, none lost, none doubled, none for a rollback`, async () => {
      const report = await runTxFaults({ pairing, transactions: 1_000, kills: 4 });
      console.log(formatTxFaults(report));
      expect(report.kills.total).toBeGreaterThanOrEqual(4);
      expect(report.committed).toBeGreaterThan(500);
      expect(report.rolledBack).toBeGreaterThan(250);
      expect(report.missing).toBe(0);
      expect(report.doubles).toBe(0);
      expect(report.ranForRolledBack).toBe(0);
      expect(report.ranWithoutRow).toBe(0);
      expect(report.leftStored).toBe(0);
      expect(report.jobsRun).toBe(report.committed);
    }, 300_000);
  }
});
