import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileScheduleStore } from '../../src/schedule/stores/file.ts';
import { TestClock } from '../helpers/clock.ts';
import { storeContract } from './store-contract.ts';

storeContract('file', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-schedule-file-'));
  const folder = path.join(dir, 'jobs');
  return {
    config: { driver: 'file', file_path: folder },
    store: (clock) => new FileScheduleStore(folder, clock),
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('the file schedule store\'s claim files', () => {
  it('are swept for every task once older than kept, not only for the first task a process claims', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-schedule-file-'));
    try {
      const folder = path.join(dir, 'jobs');
      const clock = new TestClock();
      const tasks = ['report', 'backup', 'prune'];
      const minute = clock.now();
      // One process per minute, as schedule:run runs: each claims every task's tick.
      for (let i = 0; i < 5; i++) {
        const store = new FileScheduleStore(folder, clock);
        for (const task of tasks) expect(await store.claim(task, minute + i * 60_000, `p${i}`, 150_000)).toBe(true);
        clock.advance(60_000);
      }
      const claims = path.join(folder, 'schedule', 'claims');
      const left = readdirSync(claims).map((task) => readdirSync(path.join(claims, task)).length);
      // Kept 2.5 minutes: each task has the claims of the last 2 minutes and the one just made, not all 5.
      expect(left).toEqual([3, 3, 3]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
