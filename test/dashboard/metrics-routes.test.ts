/**
 * /metrics, /api/series and the chart assets, served from a real store: what Prometheus scrapes
 * and what the charts draw must equal what the store holds.
 */
import { Hono } from 'hono';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_BUCKETS_MS, TOTALS_MINUTE, type MetricSample } from '../../src/store/admin-store.ts';
import type { AdminDriver } from '../../src/store/driver.ts';
import { metricsRoutes, type SeriesResponse } from '../../src/dashboard/metrics/routes.ts';
import { queuesInSight } from '../../src/store/queues-in-sight.ts';
import { RedisDriver } from '../../src/drivers/redis/redis.ts';
import { TestClock } from '../helpers/clock.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { dropRedisPrefix, requireRedis, uniqueName } from '../helpers/servers.ts';

/** The stores judge ready and scheduled by their own clock, so the test runs at the real time. */
const NOW = Date.now();
const MINUTE = Math.floor(NOW / 60_000) * 60_000;

function buckets(counts: Record<number, number>): number[] {
  return Array.from({ length: RUNTIME_BUCKETS_MS.length + 1 }, (_, i) => counts[i] ?? 0);
}

function sample(minute: number, queue: string, name: string, over: Partial<MetricSample>): MetricSample {
  return { minute, queue, name, done: 0, failed: 0, retried: 0, runtimeMs: 0, waitMs: 0, buckets: buckets({}), ...over };
}

/** Two flushes' worth: each sample under its minute and under the all-time totals. */
const FLUSHED = [
  sample(MINUTE - 60_000, 'default', 'send-email', { done: 5, failed: 1, retried: 2, runtimeMs: 640, waitMs: 80, buckets: buckets({ 2: 6, 4: 1, 14: 1 }) }),
  sample(MINUTE, 'default', 'send-email', { done: 3, runtimeMs: 30, waitMs: 9, buckets: buckets({ 0: 3 }) }),
  sample(MINUTE, 'low', 'build-report', { done: 1, failed: 2, runtimeMs: 9_000, waitMs: 12_000, buckets: buckets({ 9: 3 }) }),
];

/** The stores these routes are checked on, each fresh, with what to drop afterwards. */
const STORES: { label: string; open(clock: TestClock): Promise<{ driver: AdminDriver; drop(): Promise<void> }> }[] = [
  {
    label: 'SQLite',
    async open(clock) {
      const db = await createTestDatabase('sqlite');
      return { driver: db.driver(clock), drop: () => db.drop() };
    },
  },
  {
    label: 'Redis',
    async open(clock) {
      const url = await requireRedis();
      const prefix = uniqueName('m');
      const driver = new RedisDriver(url, prefix, clock);
      return { driver, drop: async () => { await driver.close(); await dropRedisPrefix(url, prefix); } };
    },
  },
];

describe.each(STORES)('metrics routes on $label', (store) => {
  let drop: () => Promise<void> = async () => {};
  let driver: AdminDriver;
  let app: Hono;

  beforeAll(async () => {
    const clock = new TestClock();
    ({ driver, drop } = await store.open(clock));
    for (const s of FLUSHED) await driver.addMetrics([s, { ...s, minute: TOTALS_MINUTE }]);
    await driver.push({ name: 'send-email', queue: 'default', payload: '{}', scheduledAt: NOW - 60_000, overlapKey: null });
    await driver.push({ name: 'send-email', queue: 'default', payload: '{}', scheduledAt: NOW + 3_600_000, overlapKey: null });
    await driver.push({ name: 'build-report', queue: 'low', payload: '{}', scheduledAt: NOW - 60_000, overlapKey: null });
    await driver.pauseQueue('low');
    await driver.beat({ id: 'h:1:1', host: 'h', pid: 1, queues: null, running: [], startedAt: NOW - 10_000, beatAt: NOW - 1_000, done: 0, failed: 0 });
    await driver.beat({ id: 'h:2:1', host: 'h', pid: 2, queues: ['low'], running: [], startedAt: NOW - 10_000, beatAt: NOW - 1_000, done: 0, failed: 0 });
    await driver.workerStopped('h:2:1', 'signal', NOW - 500);
    app = metricsRoutes(new Hono(), { driver, config: { metrics: true, metrics_retention_hours: 24 }, now: () => NOW });
  });
  afterAll(() => drop());

  async function scrape() {
    const response = await app.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusTextFormat(await response.text());
    return (name: string) => {
      const family = families.find((f) => f.name === name);
      if (!family) throw new Error(`${name} is not in /metrics`);
      return family;
    };
  }

  it('counts done, failed and retried attempts per queue and job as the store totals them', async () => {
    const totals = await driver.readMetrics(TOTALS_MINUTE, TOTALS_MINUTE + 1);
    expect(totals.map((t) => [t.queue, t.name, t.done, t.failed, t.retried])).toEqual([['default', 'send-email', 8, 1, 2], ['low', 'build-report', 1, 2, 0]]);
    const family = await scrape();
    for (const [metric, field] of [['rakit_jobs_done_total', 'done'], ['rakit_jobs_failed_total', 'failed'], ['rakit_jobs_retried_total', 'retried']] as const) {
      expect(family(metric).type).toBe('COUNTER');
      expect(family(metric).metrics.map((m) => [m.labels, Number(m.value)]))
        .toEqual(totals.map((t) => [{ queue: t.queue, job_name: t.name }, t[field]]));
    }
  });

  it('gives the runtime histogram in seconds, cumulative per bucket, with its sum and count', async () => {
    const text = await (await app.request('/metrics')).text();
    expect(text).toContain('# TYPE rakit_job_runtime_seconds histogram');
    // The parser groups only histograms without labels: its series are read as plain samples.
    const families = parsePrometheusTextFormat(text.replace('# TYPE rakit_job_runtime_seconds histogram', ''));
    const email = (suffix: string) => families.find((f) => f.name === `rakit_job_runtime_seconds${suffix}`)!.metrics
      .filter((m) => m.labels!.queue === 'default' && m.labels!.job_name === 'send-email');
    const buckets = Object.fromEntries(email('_bucket').map((m) => [m.labels!.le, Number(m.value)]));
    expect(buckets).toEqual({
      '0.005': 3, '0.01': 3, '0.025': 9, '0.05': 9, '0.1': 10, '0.25': 10, '0.5': 10, '1': 10, '2.5': 10,
      '5': 10, '10': 10, '30': 10, '60': 10, '300': 10, '+Inf': 11,
    });
    expect(email('_count').map((m) => Number(m.value))).toEqual([11]);
    expect(Number(email('_sum')[0]!.value)).toBeCloseTo(0.67);
  });

  it('gauges each queue by state, which queues are paused, and the live workers', async () => {
    const family = await scrape();
    const depth = Object.fromEntries(family('rakit_queue_jobs').metrics.map((m) => [`${m.labels!.queue}/${m.labels!.state}`, Number(m.value)]));
    expect(depth).toEqual({
      'default/ready': 1, 'default/scheduled': 1, 'default/reserved': 0, 'default/failed': 0,
      'low/ready': 1, 'low/scheduled': 0, 'low/reserved': 0, 'low/failed': 0,
    });
    expect(family('rakit_queue_paused').metrics.map((m) => [m.labels!.queue, Number(m.value)])).toEqual([['default', 0], ['low', 1]]);
    expect(Number(family('rakit_workers_live').metrics[0]!.value)).toBe(1);
  });

  it('leaves the job counters out when metrics are off', async () => {
    const off = metricsRoutes(new Hono(), { driver, config: { metrics: false, metrics_retention_hours: 24 }, now: () => NOW });
    const text = await (await off.request('/metrics')).text();
    expect(text).not.toContain('rakit_jobs_done_total');
    expect(text).toContain('rakit_queue_jobs{queue="default",state="ready"} 1');
  });

  it('serves the chart series of the last hours, per minute, for one queue or every queue', async () => {
    const all = await (await app.request('/api/series?hours=1')).json() as SeriesResponse;
    expect(all.hours).toBe(1);
    expect(all.minutes).toHaveLength(60);
    expect(all.minutes.at(-1)).toBe(MINUTE);
    expect(all.done.slice(-2)).toEqual([5, 4]);
    expect(all.failed.slice(-2)).toEqual([1, 2]);
    expect(all.runtimeMs.slice(-2)).toEqual([80, 9_030 / 6]);
    expect(all.done[0]).toBe(0);
    expect(all.runtimeMs[0]).toBeNull();
    const low = await (await app.request('/api/series?hours=1&queue=low')).json() as SeriesResponse;
    expect(low.done.slice(-2)).toEqual([0, 1]);
    expect(low.classes.map((c) => c.name)).toEqual(['build-report']);
    expect(((await (await app.request('/api/series?hours=1000')).json()) as SeriesResponse).hours).toBe(24);
  });

  it('serves uPlot and the chart script from the package, not a CDN', async () => {
    const uplot = await app.request('/assets/uplot.min.js');
    expect(uplot.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await uplot.text()).toContain('uPlot');
    expect((await app.request('/assets/uplot.min.css')).headers.get('content-type')).toMatch(/^text\/css/);
    expect(await (await app.request('/assets/charts.js')).text()).toContain('/api/series');
    expect((await app.request('/assets/nope.js')).status).toBe(404);
  });

  it('keeps every queue in sight: an emptied one that worked in the last hour, one a live worker listens on; not one idle for longer', async () => {
    await driver.addMetrics([sample(MINUTE, 'emptied', 'send-email', { done: 1, buckets: buckets({ 0: 1 }) }), sample(MINUTE - 2 * 3_600_000, 'gone', 'send-email', { done: 1, buckets: buckets({ 0: 1 }) })]);
    await driver.beat({ id: 'h:3:1', host: 'h', pid: 3, queues: ['nightly'], running: [], startedAt: NOW - 10_000, beatAt: NOW - 1_000, done: 0, failed: 0 });
    await driver.beat({ id: 'h:4:1', host: 'h', pid: 4, queues: ['stopped'], running: [], startedAt: NOW - 10_000, beatAt: NOW - 1_000, done: 0, failed: 0 });
    await driver.workerStopped('h:4:1', 'signal', NOW - 500);
    const inSight = await queuesInSight(driver, NOW);
    expect(inSight.map((q) => q.queue)).toEqual(['default', 'emptied', 'low', 'nightly']);
    expect(inSight.find((q) => q.queue === 'emptied')).toEqual({ queue: 'emptied', ready: 0, scheduled: 0, reserved: 0, failed: 0, paused: false });
    const family = await scrape();
    const queues = new Set(family('rakit_queue_jobs').metrics.map((m) => m.labels!.queue));
    expect([...queues].sort()).toEqual(['default', 'emptied', 'low', 'nightly']);
    expect(family('rakit_queue_paused').metrics.map((m) => m.labels!.queue)).toEqual(['default', 'emptied', 'low', 'nightly']);
  });
});
