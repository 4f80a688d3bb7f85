/**
 * The dashboard in a real browser over SQLite, Redis, file and memcached with real jobs in the store: every page shows the
 * store's data, each action clicked changes the store (checked through the driver), payload
 * fields are masked, progress a job reported shows on the Jobs page, read-only mode hides the actions and refuses their POSTs. Screenshots of
 * each page go to docs/screenshots/.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminDriver } from '../../src/store/driver.ts';
import { systemClock } from '../../src/infra/clock.ts';
import { reportProgress } from '../../src/middleware/progress.ts';
import { JobResults } from '../../src/store/job-results.ts';
import { closeRuntime } from '../../src/api/runtime.ts';
import { STORES } from '../helpers/stores.ts';
import { SCREENSHOTS, beatWeb1, driverOf, failMore, fixtureApp, launchBrowser, serve, type Fixture, type Served } from './harness.ts';
import { allFailed } from '../helpers/failed.ts';

/** The stores the pages are clicked through on: SQLite, Redis, file and memcached. */
const TARGETS = STORES.filter((s) => ['sqlite', 'redis', 'file', 'memcached'].includes(s.label));

for (const target of TARGETS) {
  describe(`the dashboard over ${target.label}`, () => {
    let scratch: string;
    let fixture: Fixture;
    let served: Served;
    let browser: Browser;
    let page: Page;
    let driver: AdminDriver;
    let drop = async () => {};

    beforeAll(async () => {
      scratch = mkdtempSync(path.join(os.tmpdir(), 'rakit-dash-'));
      const made = await target.setup(scratch);
      drop = made.drop;
      fixture = await fixtureApp(made.config, Boolean(target.database));
      served = await serve(fixture.app);
      browser = await launchBrowser();
      page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      driver = await driverOf(fixture);
    }, 120_000);
    afterAll(async () => {
      await browser?.close();
      await served?.stop();
      await closeRuntime();
      fixture?.app.remove();
      await drop();
      rmSync(scratch, { recursive: true, force: true });
    });

    const open = async (pathname: string, shot?: string) => {
      const response = await page.goto(served.url + pathname);
      expect(response?.status(), pathname).toBe(200);
      if (shot && target.label === 'sqlite') await page.screenshot({ path: path.join(SCREENSHOTS, `${shot}.png`), fullPage: true });
    };
    const flash = () => page.locator('.flash').innerText();

    it('Overview shows each queue\'s counts and which is paused', async () => {
      await open('/', 'overview');
      const row = (queue: string) => page.locator(`tr[data-queue="${queue}"]`);
      await expect(row('low').locator('td').nth(4).innerText()).resolves.toBe('2');
      await expect(row('default').locator('td').nth(4).innerText()).resolves.toBe('1');
      await expect(row('mail').locator('td').nth(1).innerText()).resolves.toBe('2');
      await expect(row('mail').innerText()).resolves.toContain('paused');
      await expect(row('default').innerText()).resolves.toContain('running');
      await expect(page.locator('#rakit-charts').count()).resolves.toBe(1);
      await expect(page.locator('.card.outbox').count()).resolves.toBe(0); // no outbox configured
    });

    it('a finished job\'s page shows the result its run() returned, masked, or its final error', async () => {
      const results = new JobResults(driver, { result_retention_hours: 1, max_result_bytes: 65_536 }, { warn: () => undefined });
      await results.keepValue('done/1', { sent: 3, password: 'hunter2' }, systemClock.now());
      await results.keepFailure('done/2', new Error('smtp down'), systemClock.now());
      await open('/jobs/done%2F1', target.label === 'sqlite' ? 'job-result' : undefined);
      await expect(page.locator('main').innerText()).resolves.toMatch(/State\s+finished[\s\S]*Result[\s\S]*"sent": 3/);
      await expect(page.locator('pre.payload').innerText()).resolves.not.toContain('hunter2');
      await open('/jobs/done%2F2');
      await expect(page.locator('main').innerText()).resolves.toMatch(/State\s+failed[\s\S]*Error: smtp down/);
    });

    it('Jobs lists the pending jobs with the progress they reported, searches them, and masks payload fields at any depth', async () => {
      // What `await this.progress(40, 'chunk 4/10')` stores from inside a job.
      const reporting = (await driver.getJob(fixture.pending[0]!))!;
      await reportProgress({ job: { ...reporting, token: '', reservedUntil: 0 }, records: driver, clock: systemClock, holdUntil: () => undefined, skip: () => undefined, progressVersion: null }, 40, 'chunk 4/10');
      await open('/jobs', 'jobs');
      await expect(page.locator('tr[data-job]').count()).resolves.toBe(5);
      const bar = page.locator(`tr[data-job="${reporting.id}"] td.progress`);
      await expect(bar.locator('progress').getAttribute('value')).resolves.toBe('40');
      await expect(bar.innerText()).resolves.toContain('chunk 4/10');
      await page.fill('input[name=q]', 'mail');
      await page.click('form.filters button');
      await expect(page.locator('tr[data-job]').count()).resolves.toBe(2);
      await open(`/jobs/${encodeURIComponent(fixture.pending[0]!)}`, 'job');
      const payload = await page.locator('pre.payload').innerText();
      expect(JSON.parse(payload)).toEqual({ tag: 'later', token: '***', user: { password: '***' } });
      expect(await page.content()).not.toContain('hunter2');
    });

    it('Failed lists the failures and shows one with its error, stack, payload and attempts', async () => {
      await open('/failed', 'failed');
      await expect(page.locator('tr[data-failed]').count()).resolves.toBe(3);
      const withSecret = (await allFailed(driver)).find((f) => f.payload.includes('account'))!;
      await page.locator(`tr[data-failed="${withSecret.id}"] a`).click();
      if (target.label === 'sqlite') await page.screenshot({ path: path.join(SCREENSHOTS, 'failed-job.png'), fullPage: true });
      await expect(page.locator('.error-text').innerText()).resolves.toContain('always fails on purpose');
      await expect(page.locator('pre.stack').innerText()).resolves.toContain('AlwaysFails');
      await expect(page.locator('dl.facts').innerText()).resolves.toMatch(/Attempts\s+2/);
      expect(JSON.parse(await page.locator('pre.payload').innerText())).toEqual({ account: { email: 'ada@example.com', password: '***' } });
    });

    it('Workers shows the live workers with their running jobs, and the stopped ones with why', async () => {
      await beatWeb1(driver, Date.now());
      await open('/workers', 'workers');
      const live = page.locator('tr[data-worker^="web-1:4242:"]');
      await expect(live.innerText()).resolves.toMatch(/web-1\s+4242\s+high, default, low\s+generate-report on default/);
      await expect(page.locator('tr[data-worker^="web-2:977:"]').innerText()).resolves.toContain('crashed');
      // The beat counts every failed attempt, retried ones too: not the final failures shown elsewhere.
      await expect(page.locator('th').allTextContents()).resolves.toContain('Failed attempts');
    });

    it('Locks shows the held overlap key and schedule lock with holder and age', async () => {
      await open('/locks', 'locks');
      await expect(page.locator('tr[data-lock]').count()).resolves.toBe(2);
      await expect(page.locator('tr[data-lock="overlap:nightly-report"]').innerText()).resolves.toContain('run-7f3a');
    });

    it('Schedule shows each task, its next run and its last runs with outcome', async () => {
      await open('/schedule', 'schedule');
      await expect(page.locator('tr[data-task="heartbeat"]').innerText()).resolves.toContain('success');
      await expect(page.locator('tr[data-task="mail-digest"]').innerText()).resolves.toContain('failure');
      await expect(page.locator('tr[data-task="nightly-report"]').innerText()).resolves.toContain('never ran');
    });

    const click = async (row: string, button: string) => {
      await page.locator(row).getByRole('button', { name: button }).click();
      await page.waitForLoadState();
    };

    it('pause and resume change the paused queues', async () => {
      await open('/');
      await click('tr[data-queue="low"]', 'Pause');
      expect(await flash()).toBe('Paused low: workers claim nothing from it within about a second.');
      await click('tr[data-queue="mail"]', 'Resume');
      expect(await driver.pausedQueues()).toEqual(['low']);
      await expect(page.locator('tr[data-queue="low"]').innerText()).resolves.toContain('paused');
    });

    it('cancel removes a pending job and run now makes a scheduled one due', async () => {
      const [later, , , cleanup] = fixture.pending;
      await open('/jobs');
      await click(`tr[data-job="${cleanup}"]`, 'Cancel');
      expect(await flash()).toContain(`Cancelled job ${cleanup}`);
      expect(await driver.getJob(cleanup!)).toBeNull();
      await click(`tr[data-job="${later}"]`, 'Run now');
      expect(await driver.getJob(later!)).toMatchObject({ state: 'ready' });
    });

    it('releasing an overlap key and a schedule lock frees them', async () => {
      await open('/locks');
      await click('tr[data-lock="record#invoice-2026-11@default"]', 'Release');
      expect(await driver.listOverlapLocks()).toEqual([]);
      await click('tr[data-lock="overlap:nightly-report"]', 'Release');
      expect(await flash()).toContain('Released schedule lock overlap:nightly-report');
      await expect(page.locator('p.empty').allInnerTexts()).resolves.toEqual(['No overlap key is held.', 'No schedule lock is held.']);
    });

    it('retry queues a failed job again and forget drops one', async () => {
      const failed = (await allFailed(driver)).map((f) => f.id);
      await open('/failed');
      await click(`tr[data-failed="${failed[0]}"]`, 'Retry');
      expect(await flash()).toMatch(/queued again as job \S+/);
      await click(`tr[data-failed="${failed[1]}"]`, 'Forget');
      expect((await allFailed(driver)).map((f) => f.id)).toEqual([failed[2]]);
      expect((await driver.listJobs({ state: null, queue: null, search: 'always-fails', offset: 0, limit: 10 })).total).toBe(1);
    });

    it('retry all of a queue shows its progress to the end', async () => {
      await failMore(fixture, 'bulk', 3);
      await open('/failed');
      await click('tr:has(a:text-is("bulk"))', 'Retry all 3');
      await expect(page.locator('.progress-text[data-finished="true"]').innerText({ timeout: 15_000 })).resolves.toContain('3 of 3 handled (100%)');
      if (target.label === 'sqlite') await page.screenshot({ path: path.join(SCREENSHOTS, 'retry-all.png'), fullPage: true });
      expect((await allFailed(driver)).filter((f) => f.queue === 'bulk')).toEqual([]);
      expect((await driver.listJobs({ state: null, queue: 'bulk', search: null, offset: 0, limit: 10 })).total).toBe(3);
    });

    it('Cancel of a running job asks its worker to stop it', async () => {
      const pushed = await driver.push({ name: 'long-export', queue: 'exports', payload: '{}', scheduledAt: Date.now(), overlapKey: null });
      const [running] = await driver.reserve({ queues: ['exports'], names: null, limit: 1, leases: { byName: {}, defaultMs: 60_000 } });
      expect(running?.id).toBe(pushed.id);
      await open(`/jobs/${encodeURIComponent(running!.id)}`);
      await click('main', 'Cancel');
      expect(await flash()).toContain(`Job ${running!.id} is running: its worker was asked to stop it`);
      // The request a worker reads (store/cancel-requests.ts); the job stays until its worker records it cancelled.
      expect(await driver.getRecord('cancel', running!.id)).not.toBeNull();
      expect(await driver.getJob(running!.id)).toMatchObject({ state: 'reserved' });
    });
  });
}

describe('the dashboard in read-only mode', () => {
  let scratch: string;
  let fixture: Fixture;
  let served: Served;
  let browser: Browser;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'rakit-dash-'));
    fixture = await fixtureApp({ database: `sqlite:${path.join(scratch, 'jobs.sqlite')}` }, true);
    served = await serve(fixture.app, ['--read-only']);
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    await closeRuntime();
    fixture?.app.remove();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('shows the data without a single action, and refuses an action\'s POST with 403', async () => {
    const page = await browser.newPage();
    for (const pathname of ['/', '/jobs', '/failed', '/locks', `/jobs/${encodeURIComponent(fixture.pending[0]!)}`]) {
      await page.goto(served.url + pathname);
      await expect(page.locator('main').innerText()).resolves.not.toBe('');
      await expect(page.locator('main form[method=post]').count(), pathname).resolves.toBe(0);
    }
    await expect(page.locator('.badge:text-is("read-only")').count()).resolves.toBe(1);
    const driver = await driverOf(fixture);
    const before = await allFailed(driver);
    const refused = await page.evaluate(async (id) => (await fetch(`/failed/${id}/forget`, { method: 'POST' })).status, before[0]!.id);
    expect(refused).toBe(403);
    expect(await allFailed(driver)).toHaveLength(before.length);
  });
});
