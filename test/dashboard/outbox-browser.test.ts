/**
 * The outbox's backlog on the Overview, in Chromium: an app whose jobs go to Redis and whose data
 * is in SQLite (outbox: true); jobs dispatched in the app's knex transactions, one committed with
 * two jobs and one rolled back, show as 2 waiting in the outbox; once `rakit job:relay --once`
 * has moved them, 0, and the jobs are ready on their queue.
 */
import path from 'node:path';
import type { Knex } from 'knex';
import type { Browser, Page } from 'playwright-core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Job } from '../../src/api/job-facade.ts';
import { closeRuntime, configure } from '../../src/api/runtime.ts';
import { createKnex } from '../../src/drivers/database/database-connection.ts';
import { makeApp, writeConfig, type TestApp } from '../helpers/app.ts';
import { dropRedisPrefix, requireRedis, uniqueName } from '../helpers/servers.ts';
import { launchBrowser, serve, type Served } from './harness.ts';

describe('the outbox backlog on the Overview in Chromium', () => {
  let app: TestApp;
  let knex: Knex;
  let served: Served;
  let browser: Browser;
  let page: Page;
  let redis: string;
  const prefix = uniqueName('obd');

  beforeAll(async () => {
    redis = await requireRedis();
    app = makeApp();
    const database = `sqlite:${path.join(app.dir, 'storage', 'app.sqlite')}`;
    const config = { driver: 'redis' as const, redis, prefix, database, outbox: true, sleep_ms: 50 };
    writeConfig(app.dir, config);
    for (const args of [['job:table'], ['migrate']]) expect((await app.rakit(args)).code).toBe(0);
    knex = createKnex(database, app.dir);
    await knex.schema.createTable('orders', (t) => t.string('ref', 32));
    await configure(config, { root: app.dir, logger: pino({ level: 'silent' }) });
    await knex.transaction(async (trx) => {
      await trx('orders').insert({ ref: 'A1' });
      await Job.dispatchMany('record', [{ tag: 'receipt' }, { tag: 'invoice' }]).onQueue('mail').withTransaction(trx);
    });
    await knex.transaction(async (trx) => {
      await trx('orders').insert({ ref: 'A2' });
      await Job.dispatch('record', { tag: 'never' }).onQueue('mail').withTransaction(trx);
      throw new Error('the app rolls back');
    }).catch(() => undefined);
    served = await serve(app);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    await closeRuntime();
    await knex?.destroy();
    await dropRedisPrefix(redis, prefix);
    app?.remove();
  });

  const card = () => page.locator('.card.outbox .value').innerText();

  it('shows the committed jobs waiting for the relay, then none once it moved them', async () => {
    expect((await page.goto(`${served.url}/`))?.status()).toBe(200);
    await expect(card()).resolves.toBe('2');
    await expect(page.locator('.card.outbox').getAttribute('title')).resolves.toContain('waiting for the relay');

    const relayed = await app.rakit(['job:relay', '--once']);
    expect(relayed.code, relayed.stderr).toBe(0);
    await page.reload();
    await expect(card()).resolves.toBe('0');
    await expect(page.locator('tr[data-queue="mail"] td').nth(1).innerText()).resolves.toBe('2');
  });
});
