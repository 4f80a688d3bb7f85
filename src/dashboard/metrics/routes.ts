/**
 * The metrics routes the dashboard mounts on its Hono app (behind its own authentication):
 * - GET /metrics: the Prometheus exposition (prometheus.ts);
 * - GET /api/series?hours=3&queue=Q&name=N: the Overview's chart data as JSON (series.ts), per
 *   minute over the last `hours` up to the current minute (default 3, at most
 *   `metrics_retention_hours`), for every queue, one queue or one job name;
 * - GET /assets/{uplot.min.js, uplot.min.css, charts.js, charts.css}: the chart assets (assets.ts).
 */
import type { Env, Hono } from 'hono';
import type { AdminDriver } from '../../store/driver.ts';
import { CHART_ASSETS, chartAsset } from './assets.ts';
import { prometheusText } from './prometheus.ts';
import { chartSeries, type ChartSeries } from './series.ts';

export interface MetricsDeps {
  driver: Pick<AdminDriver, 'stats' | 'pausedQueues' | 'listWorkers' | 'readMetrics'>;
  config: { metrics: boolean; metrics_retention_hours: number };
  /** The clock (epoch ms); Date.now by default. */
  now?: () => number;
}

/** The JSON of GET /api/series: the series, the window's length, and whether metrics are kept at all. */
export type SeriesResponse = ChartSeries & { hours: number; metrics: boolean };

/** Hours shown when the query names none. */
export const DEFAULT_HOURS = 3;

/** The window's length asked for, within (0, retention]; the default for a missing or bad value. */
export function hoursOf(asked: string | undefined, retentionHours: number): number {
  const hours = asked === undefined || asked === '' ? DEFAULT_HOURS : Number(asked);
  return Number.isFinite(hours) && hours > 0 ? Math.min(hours, retentionHours) : Math.min(DEFAULT_HOURS, retentionHours);
}

export function metricsRoutes<E extends Env>(app: Hono<E>, deps: MetricsDeps): Hono<E> {
  const now = deps.now ?? Date.now;
  app.get('/metrics', async (c) => {
    const { contentType, body } = await prometheusText(deps.driver, deps.config, now());
    return c.body(body, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
  });
  app.get('/api/series', async (c) => {
    const hours = hoursOf(c.req.query('hours'), deps.config.metrics_retention_hours);
    const to = (Math.floor(now() / 60_000) + 1) * 60_000; // the current minute included
    const series = await chartSeries(deps.driver, { from: to - hours * 3_600_000, to, queue: c.req.query('queue') || null, name: c.req.query('name') || null });
    c.header('cache-control', 'no-store');
    return c.json({ hours, metrics: deps.config.metrics, ...series } satisfies SeriesResponse);
  });
  for (const name of CHART_ASSETS) {
    app.get(`/assets/${name}`, (c) => {
      const asset = chartAsset(name)!;
      return c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'public, max-age=300' });
    });
  }
  return app;
}
