/**
 * The Overview's charts area as an html fragment (hono/html): three uPlot charts (throughput with
 * failures and retries, mean wait, mean runtime per minute), a window and scope picker, and the
 * per-class table, all filled in the browser by assets/dashboard/charts.js from /api/series;
 * each says it is loading until then, and that the window had no job when it had none.
 * No inline script or style, so it holds under a strict Content-Security-Policy.
 */
import { html } from 'hono/html';
import { DEFAULT_HOURS } from './routes.ts';

export interface ChartsPanelOptions {
  /** The path the dashboard is mounted under ('' at the root). */
  base?: string;
  /** The window shown first, hours. */
  hours?: number;
  /** The scope shown first: one queue, or one job name (of any queue). */
  queue?: string | null;
  name?: string | null;
  /** IANA zone of the charts' times (config `timezone`, as every other time of the dashboard); UTC by default. */
  timezone?: string;
}

const WINDOWS = [1, 3, 6, 12, 24];

/** What a chart shows until its series are in (and, when the window had no job, instead of them): charts.js sets it. */
const LOADING = html`<p class="rakit-chart-note">Loading…</p>`;

/** Why p50 and p95 are approximate (metrics/quantile.ts), and can exceed every runtime seen. */
const ESTIMATED = "estimated from the runtime histogram's buckets (interpolated inside a bucket, as Prometheus does): may differ from any real runtime";

export function chartsPanel(options: ChartsPanelOptions = {}) {
  const base = options.base ?? '';
  const hours = options.hours ?? DEFAULT_HOURS;
  const windows = WINDOWS.includes(hours) ? WINDOWS : [...WINDOWS, hours].sort((a, b) => a - b);
  return html`<link rel="stylesheet" href="${base}/assets/uplot.min.css"><link rel="stylesheet" href="${base}/assets/charts.css">
<section id="rakit-charts" class="rakit-charts" data-series="${base}/api/series" data-queue="${options.queue ?? ''}" data-name="${options.name ?? ''}" data-timezone="${options.timezone ?? 'UTC'}">
  <div class="rakit-charts-controls">
    <label>Last <select name="hours">${windows.map((h) => html`<option value="${h}"${h === hours ? html` selected` : ''}>${h} h</option>`)}</select></label>
    <label>Show <select name="scope"><option value="">every queue</option></select></label>
    <span class="rakit-charts-status" role="status"></span>
  </div>
  <figure class="rakit-chart" data-chart="throughput"><figcaption>Jobs per minute</figcaption>${LOADING}</figure>
  <figure class="rakit-chart" data-chart="wait"><figcaption>Mean wait (due to start), ms</figcaption>${LOADING}</figure>
  <figure class="rakit-chart" data-chart="runtime"><figcaption>Mean runtime, ms</figcaption>${LOADING}</figure>
  <table class="rakit-classes">
    <thead><tr><th>Queue</th><th>Job</th><th>Done</th><th>Failed</th><th>Retried</th><th>Mean ms</th><th title="${ESTIMATED}">p50 ≈ ms</th><th title="${ESTIMATED}">p95 ≈ ms</th><th>Mean wait ms</th></tr></thead>
    <tbody><tr><td colspan="9" class="rakit-chart-note">Loading…</td></tr></tbody>
  </table>
  <noscript>The charts need JavaScript; ${base}/api/series gives their data as JSON.</noscript>
</section>
<script src="${base}/assets/uplot.min.js"></script><script src="${base}/assets/charts.js"></script>`;
}
