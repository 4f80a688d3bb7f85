/**
 * The dashboard's metrics, read side: what workers store as per-minute counters (MetricsStore in
 * store/admin-store.ts) shown as charts on the Overview and scraped by Prometheus at /metrics.
 *
 * What the dashboard uses:
 * - `metricsRoutes(app, { driver, config, now? })` registers on a Hono app (behind the
 *   dashboard's authentication): GET /metrics, GET /api/series?hours=&queue=&name=, and
 *   GET /assets/{uplot.min.js, uplot.min.css, charts.js, charts.css}. Returns the app.
 * - `chartsPanel({ base?, hours?, queue?, name?, timezone? })` is the Overview's charts area, an html
 *   fragment (hono/html) that loads those assets; `base` is the path the routes are mounted under.
 * - `prometheusText(driver, config, now?): Promise<{ contentType, body }>` is the scrape itself.
 * - `chartSeries(driver, { from, to, queue?, name? }): Promise<ChartSeries>` is the JSON of
 *   /api/series: per-minute done, failed, retried, mean wait and runtime, and a per-class table
 *   with p50/p95 runtime; `buildSeries(samples, query)` is the same over samples in hand.
 */
export { chartsPanel, type ChartsPanelOptions } from './panel.ts';
export { prometheusText, type MetricsSource } from './prometheus.ts';
export { histogramQuantile } from './quantile.ts';
export { metricsRoutes, type MetricsDeps, type SeriesResponse } from './routes.ts';
export { buildSeries, chartSeries, type ChartSeries, type ClassRow, type SeriesQuery } from './series.ts';
