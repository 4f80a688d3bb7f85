import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemcachedScheduleStore } from '../../src/schedule/stores/memcached.ts';
import { REPO } from '../helpers/app.ts';
import { requireMemcached, uniqueName } from '../helpers/servers.ts';
import { storeContract } from './store-contract.ts';

storeContract('memcached', async () => {
  const servers = await requireMemcached();
  const prefix = uniqueName('sch');
  return {
    config: { driver: 'memcached', memcached: servers, prefix },
    store: (clock) => new MemcachedScheduleStore(servers, prefix, clock),
    teardown: async () => {},
  };
});

describe('the memcached schedule store', () => {
  it('lets a process that used it and never closed it exit by itself', async () => {
    const servers = await requireMemcached();
    const source = `import { systemClock } from '${path.join(REPO, 'src', 'infra', 'clock.ts')}';
import { MemcachedScheduleStore } from '${path.join(REPO, 'src', 'schedule', 'stores', 'memcached.ts')}';
const store = new MemcachedScheduleStore(${JSON.stringify(servers)}, ${JSON.stringify(uniqueName('sch'))}, systemClock);
console.log(await store.claim('report', Date.now(), 'me', 60_000));
`;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-schedule-mc-'));
    try {
      writeFileSync(path.join(dir, 'claim.mts'), source);
      const started = Date.now();
      const r = spawnSync(path.join(REPO, 'node_modules', '.bin', 'tsx'), ['claim.mts'], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
      expect([r.status, r.stdout, r.stderr]).toEqual([0, 'true\n', '']);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
