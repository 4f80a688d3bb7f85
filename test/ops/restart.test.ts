/**
 * `rakit job:restart`, the deploy step: workers of two apps ("hosts") sharing one queue store
 * exit after their running jobs when a third runs `job:restart`, on every store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/clock.ts';
import { logLines, makeApp, type TestApp } from '../helpers/app.ts';
import { STORES } from '../helpers/stores.ts';

const exited = (child: ReturnType<TestApp['spawnRakit']>) =>
  new Promise<{ code: number | null; logs: string }>((resolve) => {
    let logs = '';
    child.stderr!.on('data', (d) => (logs += d));
    child.on('close', (code) => resolve({ code, logs }));
  });

for (const store of STORES) {
  describe(`job:restart on ${store.label}`, () => {
    let scratch: string;
    let hosts: TestApp[] = [];
    let drop = async () => {};

    beforeAll(async () => {
      scratch = mkdtempSync(path.join(os.tmpdir(), 'rakit-store-'));
      const made = await store.setup(scratch);
      drop = made.drop;
      hosts = [0, 1, 2].map(() => makeApp({ ...made.config, sleep_ms: 100 }));
      if (store.database) {
        await hosts[0]!.rakit(['job:table']);
        expect((await hosts[0]!.rakit(['migrate'])).code).toBe(0);
      }
    }, 60_000);
    afterAll(async () => {
      for (const host of hosts) host.remove();
      await drop();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('every worker on every host exits after its running job', async () => {
      const [a, b, deployer] = hosts as [TestApp, TestApp, TestApp];
      const runs = [a, b].map((host) => exited(host.spawnRakit(['job:runall', '--queue=restart'])));
      await deployer.rakit(['job:dispatch', 'slow', '--queue=restart', '--payload={"ms":2500}']);
      await until(() => [a, b].some((h) => h.ranLog().some((l) => l.startsWith('slow start'))), 20_000);
      const restart = await deployer.rakit(['job:restart']);
      expect(restart.code, restart.stderr).toBe(0);
      expect(restart.stdout).toMatch(/^Restart requested on /);
      const [ra, rb] = await Promise.all(runs);
      for (const run of [ra!, rb!]) {
        expect(run.code).toBe(0);
        expect(logLines(run.logs).map((l) => l.msg)).toContain('job:restart was called: stopping after the running jobs');
      }
      // The running job finished once, on the host that had it.
      expect([...a.ranLog(), ...b.ranLog()].filter((l) => l.startsWith('slow')).map((l) => l.split(' ')[1])).toEqual(['start', 'done']);
    }, 60_000);
  });
}
