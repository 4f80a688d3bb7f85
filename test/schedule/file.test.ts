import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileScheduleStore } from '../../src/schedule/stores/file.ts';
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
