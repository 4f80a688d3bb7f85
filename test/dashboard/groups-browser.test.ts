/**
 * Groups on the Overview, in Chromium, on the default SQLite store: a tenant's flood and two small
 * tenants show as one queue and, apart, as its groups, the largest backlog first; Pause on a
 * group's row pauses that group only (`job:status --groups` says so), and Resume undoes it.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.ts';
import { launchBrowser, serve, type Served } from './harness.ts';

const DISPATCH = `import { Job } from 'rakit';
await Job.dispatchMany('record', Array.from({ length: 120 }, (_, i) => ({ tag: 'a' + i }))).group('acme');
await Job.dispatch('record', { tag: 'g' }).group('globex');
await Job.dispatch('record', { tag: 'i' }).group('initech').delay(600);
await Job.close();`;

describe('groups on the Overview in Chromium', () => {
  let app: TestApp;
  let served: Served;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    app = makeApp();
    for (const args of [['job:table'], ['migrate']]) expect((await app.rakit(args)).code).toBe(0);
    const dispatched = await app.script('dispatch.ts', DISPATCH);
    expect(dispatched.code, dispatched.stderr).toBe(0);
    served = await serve(app);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    app?.remove();
  });

  const row = (lane: string) => page.locator(`tr[data-group="${lane}"] td`);

  it('lists the groups by backlog under their queue, and pauses and resumes one', async () => {
    expect((await page.goto(`${served.url}/`))?.status()).toBe(200);
    await expect(page.locator('tr[data-queue="default"] td').nth(1).innerText()).resolves.toBe('121');
    const lanes = await page.locator('tr[data-group]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-group')));
    expect(lanes).toEqual(['default+acme', 'default+globex', 'default+initech']);
    await expect(row('default+acme').nth(2).innerText()).resolves.toBe('120');
    await expect(row('default+initech').nth(3).innerText()).resolves.toBe('1');
    await page.screenshot({ path: 'docs/screenshots/overview-groups.png', fullPage: true });

    await row('default+acme').locator('button', { hasText: 'Pause' }).click();
    await expect(page.locator('.flash').innerText()).resolves.toMatch(/^Paused default \(group acme\)/);
    await expect(row('default+acme').nth(6).innerText()).resolves.toBe('paused');
    await expect(row('default+globex').nth(6).innerText()).resolves.toBe('running');
    await expect(page.locator('tr[data-queue="default"] td').nth(5).innerText()).resolves.toBe('running');
    const status = JSON.parse((await app.rakit(['job:status', '--groups', '--json'])).stdout.trim().split('\n').at(-1)!) as { groups: { group: string; paused: boolean }[] };
    expect(status.groups.map((g) => [g.group, g.paused])).toEqual([['acme', true], ['globex', false], ['initech', false]]);

    await row('default+acme').locator('button', { hasText: 'Resume' }).click();
    await expect(page.locator('.flash').innerText()).resolves.toBe('Resumed default (group acme).');
    await expect(row('default+acme').nth(6).innerText()).resolves.toBe('running');
  }, 60_000);
});
