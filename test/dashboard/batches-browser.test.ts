/**
 * The Batches page in Chromium, over an app whose batches were dispatched and run by the real
 * binary: a finished batch at 100%, a running one at 0% with its Cancel button, and the cancel
 * itself, which the store then reports (`job:batches --json`).
 */
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.ts';
import { SCREENSHOTS, launchBrowser, serve, type Served } from './harness.ts';

const DISPATCH = `import { Job } from 'rakit';
import Record from './application/jobs/Record.ts';
await Job.batch([new Record({ tag: 'a' }), new Record({ tag: 'b' })]).name('welcome-mails').onQueue('now').dispatch();
const later = await Job.batch([1, 2, 3].map((n) => new Record({ tag: 'later-' + n }))).name('nightly-mails').onQueue('later').dispatch();
console.log(later.id);
await Job.close();
`;

describe('the Batches page in Chromium', () => {
  let app: TestApp;
  let served: Served;
  let browser: Browser;
  let nightly: string;

  beforeAll(async () => {
    app = makeApp({ logging: false });
    for (const args of [['job:table'], ['migrate']]) expect((await app.rakit(args)).code).toBe(0);
    const dispatched = await app.script('dispatch.ts', DISPATCH);
    expect(dispatched.code, dispatched.stderr).toBe(0);
    nightly = dispatched.stdout.trim().split('\n').at(-1)!;
    expect((await app.rakit(['job:runall', '--queue=now', '--stop-when-empty'])).code).toBe(0);
    served = await serve(app);
    browser = await launchBrowser().catch((error: Error) => {
      throw new Error(`Chromium did not start (install it at /usr/bin/chromium or set CHROMIUM_PATH): ${error.message}`);
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    app?.remove();
  });

  it('shows each batch with its progress and cancels a running one', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${served.url}/batches`);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'batches.png'), fullPage: true });
    expect(await page.locator('nav a.active').textContent()).toBe('Batches');
    const welcome = page.locator('tr', { hasText: 'welcome-mails' });
    expect(await welcome.locator('progress').getAttribute('value')).toBe('100');
    expect(await welcome.locator('.badge').textContent()).toBe('finished');
    expect(await welcome.locator('button').count()).toBe(0);
    const row = page.locator(`tr[data-batch="${nightly}"]`);
    expect(await row.locator('progress').getAttribute('value')).toBe('0');
    expect(await row.locator('.badge').textContent()).toBe('running');

    await row.locator('button', { hasText: 'Cancel' }).click();
    await page.waitForURL(`${served.url}/batches`);
    expect(await page.locator('.flash').textContent()).toBe('Cancelled batch nightly-mails: its jobs not started will not run.');
    expect(await page.locator(`tr[data-batch="${nightly}"] .badge`).textContent()).toBe('cancelling');
    expect(await page.locator(`tr[data-batch="${nightly}"] button`).count()).toBe(0);
    const listed = JSON.parse((await app.rakit(['job:batches', '--json'])).stdout) as { batches: { id: string; cancelledAt: string | null }[] };
    expect(listed.batches.find((b) => b.id === nightly)!.cancelledAt).not.toBeNull();
  });

  it('job:batches prints the table, and cancel of an unknown id exits 1 saying so', async () => {
    const table = await app.rakit(['job:batches']);
    expect(table.stdout).toMatch(/^ID +NAME +TOTAL +PENDING +FAILED +PROGRESS +STATUS +CREATED/);
    expect(table.stdout).toMatch(/welcome-mails +2 +0 +0 +100% +finished/);
    const unknown = await app.rakit(['job:batches', 'cancel', 'no-such-batch']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No batch no-such-batch (rakit job:batches lists them)');
  });
});
