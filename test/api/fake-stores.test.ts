/**
 * Job.fake([Class]) over every store (TEST_STORES): the faked class, chains and batches (their
 * records too) are recorded and reach no store; the other classes are stored in the real one, and
 * restore() stores again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Jobable } from '../../src/api/jobable.ts';
import { Job } from '../../src/api/job-facade.ts';
import { closeRuntime, configure, runtime } from '../../src/api/runtime.ts';
import { BATCH_NAMESPACE } from '../../src/flows/batches/batch-store.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { STORES } from '../helpers/stores.ts';

class SendEmail extends Jobable<{ to: string }> {
  async run() {}
}
class ResizeImage extends Jobable<{ path: string }> {
  async run() {}
}

/** Jobs the real store holds, ready or scheduled. */
async function held(): Promise<number> {
  const stats = await (await runtime()).driver.stats();
  return stats.reduce((n, q) => n + q.ready + q.scheduled, 0);
}

for (const store of STORES) {
  describe(`Job.fake([Class]) on ${store.label}`, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-fake-'));
    let drop = async () => {};

    beforeAll(async () => {
      let config: Record<string, unknown>;
      if (store.database) {
        const db = await createTestDatabase(store.database);
        config = { database: db.url, table: db.table, failed_table: db.failedTable };
        drop = () => db.drop();
      } else {
        const made = await store.setup(dir);
        config = made.config;
        drop = made.drop;
      }
      await configure(config, { root: dir, logger: pino({ level: 'silent' }) });
    }, 60_000);

    afterAll(async () => {
      Job.restore();
      await closeRuntime();
      await drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('records the faked class, chains and batches, and stores the others', async () => {
      Job.fake([SendEmail]);
      await SendEmail.dispatch({ to: 'a@example.com' });
      await ResizeImage.dispatch({ path: '1.png' });
      await Job.chain([new ResizeImage({ path: '2.png' }), new SendEmail({ to: 'b@example.com' })]).dispatch();
      const batch = await Job.batch([new ResizeImage({ path: '3.png' })]).then(new SendEmail({ to: 'c@example.com' })).dispatch();
      Job.assertDispatchedTimes(SendEmail, 1);
      // Its stored dispatch is not recorded: the chain's first job is.
      Job.assertDispatchedTimes(ResizeImage, 1);
      Job.assertChained([ResizeImage, SendEmail]);
      Job.assertBatched((b) => b.jobs.length === 1 && b.then?.name === 'send-email');
      Job.restore();
      expect(await held()).toBe(1);
      expect(await (await runtime()).driver.getRecord(BATCH_NAMESPACE, batch.id)).toBeNull();
      await SendEmail.dispatch({ to: 'd@example.com' });
      expect(await held()).toBe(2);
    });
  });
}
