/**
 * The Overview's charts in a real browser (Chromium): the fragment loads uPlot and the chart
 * script from the dashboard itself, draws the three charts from /api/series over SQLite's stored
 * metrics, tables each job class, and narrows to one queue when asked. Until the series are in,
 * each chart and the table say they are loading; a window without jobs says so; times are 24-hour
 * in the dashboard's timezone. The page's requests are
 * answered by the routes' Hono app directly, so no request can leave for a CDN unnoticed.
 */
import os from 'node:os';
import path from 'node:path';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_BUCKETS_MS, type MetricSample } from '../../src/store/admin-store.ts';
import { chartsPanel } from '../../src/dashboard/metrics/panel.ts';
import { metricsRoutes } from '../../src/dashboard/metrics/routes.ts';
import { TestClock } from '../helpers/clock.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const ORIGIN = 'http://dashboard.test';
const MINUTE = Math.floor(Date.now() / 60_000) * 60_000;

function sample(minutesAgo: number, queue: string, name: string, done: number, failed: number): MetricSample {
  const buckets = new Array<number>(RUNTIME_BUCKETS_MS.length + 1).fill(0);
  buckets[4] = done + failed;
  return { minute: MINUTE - minutesAgo * 60_000, queue, name, done, failed, retried: 0, runtimeMs: 80 * (done + failed), waitMs: 10 * (done + failed), buckets };
}

/** The little of a browser canvas the test reads (the project's types have no DOM). */
interface Canvas { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } }

describe('the Overview charts in Chromium', () => {
  let db: TestDatabase;
  let browser: Browser;
  const requested: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    const driver = db.driver(new TestClock());
    await driver.addMetrics([5, 4, 2, 1, 0].flatMap((ago) => [sample(ago, 'default', 'send-email', 10 + ago, ago % 2), sample(ago, 'low', 'build-report', 2, 0)]).concat(sample(30, 'quiet', 'tick', 1, 0)));
    const app = metricsRoutes(new Hono(), { driver, config: { metrics: true, metrics_retention_hours: 24 } });
    app.get('/', (c) => c.html(html`<!doctype html><html><head><title>Overview</title></head><body>${chartsPanel({ hours: 1 })}</body></html>`));
    app.get('/jakarta', (c) => c.html(html`<!doctype html><html><head><title>Overview</title></head><body>${chartsPanel({ hours: 1, timezone: 'Asia/Jakarta' })}</body></html>`));
    app.get('/nothing', (c) => c.html(html`<!doctype html><html><head><title>Overview</title></head><body>${chartsPanel({ hours: 1, queue: 'nothing' })}</body></html>`));
    app.get('/quiet', (c) => c.html(html`<!doctype html><html><head><title>Overview</title></head><body>${chartsPanel({ hours: 1, queue: 'quiet' })}</body></html>`));
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    }).catch((error: Error) => {
      throw new Error(`Chromium did not start (install it at /usr/bin/chromium or set CHROMIUM_PATH): ${error.message}`);
    });
    const context = await browser.newContext();
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      requested.push(url.origin === ORIGIN ? url.pathname + url.search : url.href);
      if (url.origin !== ORIGIN) return route.abort();
      const response = await app.request(url.pathname + url.search);
      await route.fulfill({ status: response.status, headers: Object.fromEntries(response.headers), body: Buffer.from(await response.arrayBuffer()) });
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await db?.drop();
  });

  it('draws throughput, wait and runtime per minute and tables each job class, from the dashboard alone', async () => {
    const page = await browser.contexts()[0]!.newPage();
    await page.goto(`${ORIGIN}/`);
    await page.waitForSelector('#rakit-charts[data-loaded]');
    expect(await page.locator('#rakit-charts').getAttribute('data-loaded')).toBe('60');
    expect(await page.locator('.rakit-chart .uplot canvas').count()).toBe(3);
    expect(await page.locator('.rakit-chart .u-legend .u-series').allInnerTexts()).toEqual(expect.arrayContaining([
      expect.stringContaining('Done'), expect.stringContaining('Failed'), expect.stringContaining('Mean wait'), expect.stringContaining('Mean runtime'),
    ]));
    // Each class did 50-100 ms attempts: p50 and p95 interpolate inside that bucket.
    const rows = await page.locator('.rakit-classes tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    expect(rows).toEqual([
      ['default', 'send-email', '62', '2', '0', '80', '75', '98', '10'],
      ['low', 'build-report', '10', '0', '0', '80', '75', '98', '10'],
      ['quiet', 'tick', '1', '0', '0', '80', '75', '98', '10'],
    ]);
    // The quantiles say they are estimates.
    expect(await page.locator('.rakit-classes th[title*="estimated from the runtime histogram"]').allTextContents()).toEqual(['p50 ≈ ms', 'p95 ≈ ms']);
    expect(requested.every((r) => r.startsWith('/'))).toBe(true);
    expect(requested).toEqual(expect.arrayContaining(['/assets/uplot.min.js', '/assets/charts.js', '/api/series?hours=1']));
    await page.close();
  });

  it('shows a minute of data between minutes without any on the mean charts', async () => {
    const page = await browser.contexts()[0]!.newPage();
    await page.goto(`${ORIGIN}/quiet`);
    await page.waitForSelector('#rakit-charts[data-loaded]');
    // Pixels in the runtime series' colour (#6a1b9a): a lone minute has no line, only its point.
    const drawn = await page.locator('[data-chart="runtime"] canvas').evaluate((element) => {
      const canvas = element as unknown as Canvas;
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i]! - 0x6a) < 24 && Math.abs(data[i + 1]! - 0x1b) < 24 && Math.abs(data[i + 2]! - 0x9a) < 24 && data[i + 3]! > 128) n++;
      return n;
    });
    expect(drawn).toBeGreaterThan(4);
    await page.close();
  });

  it('says each chart is loading until its series are in, then draws it with 24-hour times in the dashboard\'s zone', async () => {
    const page = await browser.contexts()[0]!.newPage();
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/api/series*', async (route) => {
      await held;
      await route.fallback();
    });
    await page.goto(`${ORIGIN}/jakarta`);
    await page.waitForSelector('script[src$="charts.js"]', { state: 'attached' });
    expect(await page.locator('.rakit-chart p.rakit-chart-note').allTextContents()).toEqual(['Loading…', 'Loading…', 'Loading…']);
    expect(await page.locator('.rakit-chart p.rakit-chart-note').evaluateAll((ps) => ps.map((p) => (p as unknown as { offsetHeight: number }).offsetHeight))).toEqual([180, 180, 180]);
    expect(await page.locator('.rakit-classes tbody').textContent()).toBe('Loading…');
    await page.screenshot({ path: path.join(os.tmpdir(), 'rakit-charts-loading.png'), fullPage: true });
    release();
    await page.waitForSelector('#rakit-charts[data-loaded]');
    expect(await page.locator('.rakit-chart p.rakit-chart-note:visible').count()).toBe(0);
    // The legend's time of the minute under the cursor: 24-hour, in Asia/Jakarta (UTC+7).
    const over = page.locator('[data-chart="throughput"] .u-over');
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
    const shown = await page.locator('[data-chart="throughput"] .u-legend .u-series').first().locator('.u-value').textContent();
    expect(shown).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    // The last minutes of the window: this hour in Jakarta (or the one before, at a full hour).
    const jakartaHour = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(11, 13);
    expect([jakartaHour(MINUTE), jakartaHour(MINUTE - 120_000)]).toContain(shown!.slice(11, 13));
    await page.screenshot({ path: path.join(os.tmpdir(), 'rakit-charts-jakarta.png'), fullPage: true });
    await page.close();
  });

  it('says so when the window had no job', async () => {
    const page = await browser.contexts()[0]!.newPage();
    await page.goto(`${ORIGIN}/nothing`);
    await page.waitForSelector('#rakit-charts[data-loaded]');
    expect(await page.locator('.rakit-chart p.rakit-chart-note:visible').allTextContents()).toEqual(['No job in this window.', 'No job in this window.', 'No job in this window.']);
    expect(await page.locator('.rakit-classes tbody').textContent()).toBe('Nothing finished in this window.');
    await page.close();
  });

  it('narrows the charts and the table to the queue picked', async () => {
    const page = await browser.contexts()[0]!.newPage();
    await page.goto(`${ORIGIN}/`);
    await page.waitForSelector('#rakit-charts[data-loaded]');
    const reply = page.waitForResponse((r) => r.url().includes('queue=low'));
    await page.selectOption('select[name=scope]', { label: 'queue low' });
    await reply;
    await expect.poll(() => page.locator('.rakit-classes tbody tr').count()).toBe(1);
    expect(await page.locator('.rakit-classes tbody td').first().textContent()).toBe('low');
    await page.close();
  });
});
