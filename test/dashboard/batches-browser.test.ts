/**
 * The Batches page in Chromium, over an app whose batches and chain were dispatched and run by
 * the real binary: a finished batch at 100%, a running one at 0%, its own page (counts,
 * callbacks), cancelling it after a confirmation, and its bar once its jobs were not run; held
 * jobs (a chain's later step, a batch callback) shown as held, with no action, and their forged
 * actions refused. Then `job:batches` through the binary: the table, cancel of an unknown id, of
 * a finished batch, and its usage errors.
 */
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.ts';
import { SCREENSHOTS, launchBrowser, serve, type Served } from './harness.ts';

const DISPATCH = `import { Job } from 'rakit';
import Record from './application/jobs/Record.ts';
import AlwaysFails from './application/jobs/AlwaysFails.ts';
const welcome = await Job.batch([new Record({ tag: 'a' }), new Record({ tag: 'b' })]).name('welcome-mails').onQueue('now').dispatch();
const later = await Job.batch([1, 2, 3].map((n) => new Record({ tag: 'later-' + n }))).name('nightly-mails').onQueue('later')
  .finally(new Record({ tag: 'nightly-done' })).dispatch();
const tolerant = await Job.batch([new AlwaysFails({}), new Record({ tag: 'tolerant-later' }).onQueue('later')]).name('tolerant-mails')
  .onQueue('now').allowFailures().dispatch();
const chain = await Job.chain([new Record({ tag: 'c1' }), new Record({ tag: 'c2' })]).onQueue('chain').dispatch();
console.log(JSON.stringify({ welcome: welcome.id, nightly: later.id, tolerant: tolerant.id, held: chain.jobs[1].id }));
await Job.close();
`;

describe('the Batches page in Chromium', () => {
  let app: TestApp;
  let served: Served;
  let browser: Browser;
  let ids: { welcome: string; nightly: string; tolerant: string; held: string };

  beforeAll(async () => {
    app = makeApp({ logging: false });
    for (const args of [['job:table'], ['migrate']]) expect((await app.rakit(args)).code).toBe(0);
    const dispatched = await app.script('dispatch.ts', DISPATCH);
    expect(dispatched.code, dispatched.stderr).toBe(0);
    ids = JSON.parse(dispatched.stdout.trim().split('\n').at(-1)!);
    expect((await app.rakit(['job:runall', '--queue=now', '--stop-when-empty'])).code).toBe(0);
    served = await serve(app);
    browser = await launchBrowser().catch((error: Error) => {
      throw new Error(`Chromium did not start (install it at /usr/bin/chromium or set CHROMIUM_PATH): ${error.message}`);
    });
  }, 120_000); // five processes and a browser: on 2 busy cores, more than a minute
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    app?.remove();
  });

  /** A POST as a forger with this session's form token would send it, bypassing the missing button. */
  const forge = async (page: Page, to: string) => {
    const token = (await page.locator('input[name=_csrf]').first().getAttribute('value'))!;
    return page.evaluate(async ([to, token]) => {
      const response = await fetch(to, { method: 'POST', body: new URLSearchParams({ _csrf: token }) });
      return { status: response.status, text: await response.text() };
    }, [to, token] as const);
  };

  it('shows held jobs as held, without Run now or Cancel, and refuses their forged actions', async () => {
    const page = await browser.newPage();
    await page.goto(`${served.url}/jobs`);
    const held = page.locator(`tr[data-job="${ids.held}"]`);
    expect(await held.locator('.badge').textContent()).toBe('held (chain)');
    expect(await held.locator('button').count()).toBe(0);
    const callback = page.locator('tr', { hasText: 'held (batch callback)' });
    expect(await callback.locator('button').count()).toBe(0);
    // Narrow, the badge stays one pill and a job name is not broken at its hyphens.
    await page.setViewportSize({ width: 640, height: 720 });
    expect(await callback.locator('.badge').evaluate((b) => b.getClientRects().length === 1 && b.getBoundingClientRect().height <= 22)).toBe(true);
    await page.screenshot({ path: path.join(os.tmpdir(), 'rakit-jobs-narrow.png'), fullPage: true });
    expect(await callback.locator('td.name').first().evaluate((td) => (globalThis as unknown as { getComputedStyle(e: unknown): { whiteSpace: string } }).getComputedStyle(td).whiteSpace)).toBe('nowrap');
    await page.setViewportSize({ width: 1280, height: 720 });
    for (const act of ['run-now', 'cancel']) {
      const refused = await forge(page, `/jobs/${ids.held}/${act}`);
      expect(refused.status).toBe(409);
      expect(refused.text).toContain('is held (chain): its chain makes it due when the job before it succeeds');
    }
    await page.goto(`${served.url}/jobs/${ids.held}`);
    expect(await page.locator('main .badge').textContent()).toBe('held (chain)');
    expect(await page.locator('main button').count()).toBe(0);
    expect(await app.rakit(['job:runall', '--queue=chain', '--stop-when-empty'])).toMatchObject({ code: 0 });
    await page.goto(`${served.url}/jobs?queue=chain`);
    expect(await page.locator('.empty').textContent()).toBe('No pending job matches.'); // the chain ran to its end
  });

  it('shows each batch with its progress and its own page, and cancels a running one after confirming', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${served.url}/batches`);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'batches.png'), fullPage: true });
    expect(await page.locator('nav a.active').textContent()).toBe('Batches');
    const welcome = page.locator(`tr[data-batch="${ids.welcome}"]`);
    expect(await welcome.locator('progress').getAttribute('value')).toBe('100');
    expect(await welcome.locator('.badge').textContent()).toBe('finished');
    expect(await welcome.locator('.actions a').count()).toBe(0);
    const row = page.locator(`tr[data-batch="${ids.nightly}"]`);
    expect(await row.locator('progress').getAttribute('value')).toBe('0');
    expect(await row.locator('.badge').textContent()).toBe('running');
    // A failure the batch allows is no failure of the batch: amber, beside its state, never red.
    const tolerant = page.locator(`tr[data-batch="${ids.tolerant}"]`);
    expect(await tolerant.locator('.badge').allTextContents()).toEqual(['running', '1 failed (allowed)']);
    expect(await tolerant.locator('.badge.failed').count()).toBe(0);
    const colours = await tolerant.locator('.badge').evaluateAll((badges) => badges.map((b) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(b).backgroundColor));
    expect(colours.every((c) => !/192, 38, 45/.test(c))).toBe(true); // not --bad
    // A badge and a job name stay on one line.
    await page.setViewportSize({ width: 700, height: 800 });
    for (const badge of await page.locator('.badge').all()) expect(await badge.evaluate((b) => b.getClientRects().length === 1 && b.getBoundingClientRect().height <= 22)).toBe(true);
    await page.setViewportSize({ width: 1280, height: 800 });

    await row.locator('a', { hasText: 'nightly-mails' }).click();
    await page.waitForURL(`${served.url}/batches/${ids.nightly}`);
    expect(await page.locator('h1').textContent()).toBe('Batch nightly-mails');
    expect(await page.locator('dd', { hasText: 'in all' }).textContent()).toBe('3 in all: 0 done, 0 failed, 0 not run, 3 pending');
    expect(await page.locator('tr[data-callback="finally"] td').last().textContent()).toBe('held');

    await page.locator('main a', { hasText: 'Cancel' }).click();
    await page.waitForURL(`${served.url}/batches/${ids.nightly}/cancel`);
    expect(await page.locator('h1').textContent()).toBe('Cancel batch nightly-mails?');
    await page.locator('button', { hasText: 'Cancel the batch' }).click();
    await page.waitForURL(`${served.url}/batches`);
    expect(await page.locator('.flash').textContent()).toBe('Cancelled batch nightly-mails: its jobs not started will not run.');
    expect(await page.locator(`tr[data-batch="${ids.nightly}"] .badge`).textContent()).toBe('cancelling');
    expect(await page.locator(`tr[data-batch="${ids.nightly}"] .actions a`).count()).toBe(0);

    // Its jobs are then not run: the bar stays empty, saying so; finally ran.
    expect((await app.rakit(['job:runall', '--queue=later', '--stop-when-empty'])).code).toBe(0);
    await page.goto(`${served.url}/batches/${ids.nightly}`);
    expect(await page.locator('dd.progress progress').getAttribute('value')).toBe('0');
    expect(await page.locator('dd.progress').textContent()).toContain('3 not run');
    expect(await page.locator('main .badge').textContent()).toBe('cancelled');
    expect(await page.locator('tr[data-callback="finally"] td').last().textContent()).toBe('ran or dropped');
    const listed = JSON.parse((await app.rakit(['job:batches', '--json'])).stdout) as { batches: { id: string; skippedJobs: number; status: string }[] };
    expect(listed.batches.find((b) => b.id === ids.nightly)).toMatchObject({ skippedJobs: 3, status: 'cancelled' });
  });

  it('job:batches prints the table; cancel says what it did, exits 1 for an unknown id and 2 without one', async () => {
    const table = await app.rakit(['job:batches']);
    expect(table.stdout).toMatch(/^ID +NAME +TOTAL +PENDING +FAILED +SKIPPED +PROGRESS +STATUS +CREATED/);
    expect(table.stdout).toMatch(/welcome-mails +2 +0 +0 +0 +100% +finished/);
    const unknown = await app.rakit(['job:batches', 'cancel', 'no-such-batch']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No batch no-such-batch (rakit job:batches lists them)');
    const finished = await app.rakit(['job:batches', 'cancel', ids.welcome, '--json']);
    expect(finished.code).toBe(0);
    expect(JSON.parse(finished.stdout)).toMatchObject({ cancelled: false, batch: { status: 'finished' } });
    expect((await app.rakit(['job:batches', 'cancel'])).code).toBe(2);
  });
});
