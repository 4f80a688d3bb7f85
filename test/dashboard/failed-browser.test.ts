/**
 * The Failed page over many failures, in a real browser over SQLite and Redis: 1,801 failed jobs
 * (more than a page of the store), counted the same on the overview, the Failed page's total and
 * its by-queue and by-job tables; listed newest first 50 a page, the next page older; filtered by
 * error text with counts that follow the filter; and a retry-all run left unfinished by a stopped
 * process, continued to its end by the dashboard when its page is opened.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminDriver } from '../../src/store/driver.ts';
import { EVERY_FAILURE } from '../../src/store/failed/failed-view.ts';
import { FailedSweeps } from '../../src/store/failed/failed-sweep.ts';
import { closeRuntime } from '../../src/api/runtime.ts';
import { STORES } from '../helpers/stores.ts';
import { TestClock } from '../helpers/clock.ts';
import { driverOf, fixtureApp, launchBrowser, serve, type Fixture, type Served } from './harness.ts';

const TARGETS = STORES.filter((s) => ['sqlite', 'redis'].includes(s.label));
const QUEUE = 'mailer';
const FAILURES = 1801;
const TIMEOUTS = 1000;
const LEASES = { byName: {}, defaultMs: 60_000 };

for (const target of TARGETS) {
  describe(`the Failed page over ${FAILURES} failures on ${target.label}`, () => {
    let scratch: string;
    let fixture: Fixture;
    let served: Served;
    let browser: Browser;
    let page: Page;
    let driver: AdminDriver;
    let drop = async () => {};

    beforeAll(async () => {
      scratch = mkdtempSync(path.join(os.tmpdir(), 'rakit-failed-'));
      const made = await target.setup(scratch);
      drop = made.drop;
      fixture = await fixtureApp(made.config, Boolean(target.database));
      driver = await driverOf(fixture);
      // Failed the way a worker fails them: pushed, claimed, failed, a hundred at a time.
      for (let i = 0; i < FAILURES; i += 100) {
        const n = Math.min(100, FAILURES - i);
        await driver.pushMany(Array.from({ length: n }, (_, k) => ({ name: 'fail-job', queue: QUEUE, payload: `{"i":${i + k}}`, scheduledAt: 0, overlapKey: null })));
        const held = await driver.reserve({ queues: [QUEUE], names: null, limit: n, leases: LEASES });
        await Promise.all(held.map((h) => driver.fail(h, { exception: JSON.parse(h.payload).i < TIMEOUTS ? 'Error: SMTP timeout' : 'Error: refused' })));
      }
      served = await serve(fixture.app);
      browser = await launchBrowser();
      page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    }, 180_000);
    afterAll(async () => {
      await browser?.close();
      await served?.stop();
      await closeRuntime();
      fixture?.app.remove();
      await drop();
      rmSync(scratch, { recursive: true, force: true });
    });

    const open = async (pathname: string) => {
      const response = await page.goto(served.url + pathname);
      expect(response?.status(), pathname).toBe(200);
    };
    const cell = (section: string, value: string) => page.locator(`section:has(h2:text-is("${section}")) tr:has(a:text-is("${value}")) td.num`).innerText();
    const ids = () => page.locator('tr[data-failed]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-failed')));

    it('counts every failure alike on the overview and the Failed page, and lists them newest first a page at a time', async () => {
      const counts = await driver.countFailed(EVERY_FAILURE);
      expect(counts.byQueue[QUEUE]).toBe(FAILURES);
      await open('/');
      await expect(page.locator(`tr[data-queue="${QUEUE}"] td`).nth(4).innerText()).resolves.toBe(String(FAILURES));
      await open('/failed');
      await expect(page.locator('p.count').getAttribute('data-total')).resolves.toBe(String(counts.total));
      await expect(cell('By queue', QUEUE)).resolves.toBe(String(FAILURES));
      await expect(cell('By job', 'fail-job')).resolves.toBe(String(counts.byName['fail-job']));
      const first = await driver.listFailed({ ...EVERY_FAILURE, after: null, limit: 50 });
      expect(await ids()).toEqual(first.jobs.map((f) => f.id));
      expect(first.jobs[0]!.failedAt).toBeGreaterThanOrEqual(first.jobs[49]!.failedAt);
      await page.locator('a[rel="next"]').click();
      const second = await driver.listFailed({ ...EVERY_FAILURE, after: first.next, limit: 50 });
      expect(await ids()).toEqual(second.jobs.map((f) => f.id));
      expect(second.jobs[0]!.failedAt).toBeLessThanOrEqual(first.jobs[49]!.failedAt);
    });

    it('filters by error text, with counts that follow the filter', async () => {
      await open('/failed?error=TIMEOUT');
      await expect(page.locator('p.count').getAttribute('data-total')).resolves.toBe(String(TIMEOUTS));
      await expect(cell('By queue', QUEUE)).resolves.toBe(String(TIMEOUTS));
      await expect(page.locator('tr[data-failed] td.error-text').allInnerTexts()).resolves.toEqual(Array(50).fill('Error: SMTP timeout'));
    });

    it('continues a retry-all run whose process stopped, when its page is opened', async () => {
      // A run begun by another dashboard 40 s ago, stopped after its first page.
      const then = new TestClock();
      then.advance(-40_000);
      const sweeps = new FailedSweeps(driver, then, 100);
      const filter = { ...EVERY_FAILURE, queue: QUEUE, error: 'timeout', until: Date.now() + 1 };
      const started = await sweeps.start('retry', filter);
      const stop = new AbortController();
      await sweeps.work(started.run!, () => stop.abort(), stop.signal);
      await open(`/failed/retry-all/${started.run!.id}`);
      await expect(page.locator('.progress-text[data-finished="true"]').innerText({ timeout: 60_000 })).resolves.toContain(`${TIMEOUTS} of ${TIMEOUTS} handled (100%)`);
      expect((await driver.countFailed(filter)).total).toBe(0);
      expect((await driver.countFailed({ ...EVERY_FAILURE, queue: QUEUE })).total).toBe(FAILURES - TIMEOUTS);
    }, 90_000);
  });
}
