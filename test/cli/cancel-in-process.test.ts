/**
 * Cancelling a job a `rakit job:runall --in-process` worker runs (it reads the cancel requests
 * itself, no manager): `rakit job:cancel` from another process aborts its signal; the job holds
 * its overlap key until its code has ended, however long that takes (nothing kills code
 * in-process), then is recorded cancelled, not failed, not run again, and `Job.on('cancelled')`
 * fires. Fast: in the quick tier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.ts';
import { until } from '../helpers/clock.ts';
import { STORES } from '../helpers/stores.ts';
import { CANCEL_JOBS, lastLine } from '../helpers/cancel-jobs.ts';

const EVENTS = `import { appendFileSync } from 'node:fs';
import { Job } from 'rakit';
Job.on('cancelled', (e) => appendFileSync('storage/ran.log', \`event cancelled \${e.job.id} \${e.job.name}\\n\`));
`;

for (const store of STORES) {
  describe(`cancel a job of an in-process worker on ${store.label}`, () => {
    let app: TestApp;
    let drop = async () => {};

    beforeAll(async () => {
      app = makeApp({ sleep_ms: 50 });
      const made = await store.setup(app.dir);
      drop = made.drop;
      const { writeConfig } = await import('../helpers/app.ts');
      writeConfig(app.dir, { sleep_ms: 50, logging: true, ...made.config });
      for (const [file, source] of Object.entries(CANCEL_JOBS)) app.write(`application/jobs/${file}`, source);
      app.write('application/events.ts', EVENTS);
      if (store.database) for (const args of [['job:table'], ['migrate']]) expect((await app.rakit(args)).code).toBe(0);
    });
    afterAll(async () => {
      app?.remove();
      await drop();
    });

    it('aborts its signal, keeps its key until its code ends, and records it cancelled', async () => {
      const dispatch = () => app.rakit(['job:dispatch', 'watcher', '--json', '--payload', '{"key":"k1","cleanup":60000}', '--without-overlapping']);
      const id = lastLine<{ id: string }>((await dispatch()).stdout).id;
      const child = app.spawnRakit(['job:runall', '--in-process', '--stop-when-empty']);
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
      await until(() => app.ranLog().some((l) => l.startsWith(`start ${id} `)), 20_000);

      const cancel = await app.rakit(['job:cancel', id]);
      expect(cancel.stdout).toMatch(new RegExp(`^Job ${id}: running: asked to stop`));
      await until(() => app.ranLog().some((l) => l.startsWith(`abort ${id} `)), 3_000);
      // Its code still runs (it waits for storage/release): its key is held.
      expect(lastLine<{ skipped?: string }>((await dispatch()).stdout).skipped).toBe('overlapping');
      expect(app.ranLog().some((l) => l.startsWith(`end ${id} `))).toBe(false);
      app.write('storage/release', '');

      expect(await exit, out).toBe(0);
      const ran = app.ranLog().filter((l) => l.includes(` ${id} `) || l.endsWith(` ${id}`));
      expect(ran.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['start ' + id, 'abort ' + id, 'end ' + id, 'event cancelled']);
      expect(out).toMatch(/"status":"CANCELLED"/);
      const show = lastLine<{ pending: unknown; failed: unknown; result: unknown }>((await app.rakit(['job:show', id, '--json'])).stdout);
      expect(show).toMatchObject({ pending: null, failed: null, result: { done: false, cancelled: true, error: 'its code stopped' } });
      expect(lastLine((await app.rakit(['job:failed', '--json'])).stdout)).toEqual([]);
      // Acked once its code ended: the key is free again.
      expect(lastLine<{ skipped?: string }>((await dispatch()).stdout).skipped).toBeUndefined();
    }, 60_000);
  });
}
