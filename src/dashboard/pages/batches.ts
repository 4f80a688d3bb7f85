/**
 * Batches: every batch the store keeps (src/core/flows/), newest first, with its progress, counts
 * and status; cancel a running one (its jobs not started are not run, `finally` still runs).
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { batchView } from '../../core/flows/batch-record.ts';
import { cancelBatch } from '../../core/flows/batch-settle.ts';
import { listBatches } from '../../core/flows/batch-store.ts';
import type { Dashboard, DashboardEnv } from '../context.ts';
import { at } from '../format.ts';
import { action, done, page, table } from '../layout.ts';

export function batchesRoutes(app: Hono<DashboardEnv>, d: Dashboard): void {
  const zone = d.config.timezone;
  app.get('/batches', async (c) => {
    const batches = (await listBatches(d.driver, 200)).map(batchView);
    return page(c, d, 'Batches', html`
      <p class="hint">Jobs dispatched together with Job.batch(); finished batches are kept 7 days.</p>
      ${table(['Batch', 'Progress', 'Total', 'Pending', 'Failed', 'Status', 'Created', ''], batches.map((b) => html`<tr data-batch="${b.id}">
        <td>${b.name ?? ''} <span class="mono small">${b.id}</span></td>
        <td class="progress"><progress max="100" value="${b.progress}" title="${b.processedJobs} of ${b.totalJobs} settled"></progress> ${b.progress}%</td>
        <td>${b.totalJobs}</td><td>${b.pendingJobs}</td><td>${b.failedJobs}</td>
        <td><span class="badge ${b.failedJobs > 0 || b.cancelledAt ? 'failed' : b.finishedAt ? 'done' : 'ready'}">${b.status}</span></td>
        <td>${at(Date.parse(b.createdAt), zone)}</td>
        <td class="actions">${b.finishedAt || b.cancelledAt ? '' : action(c, d, '/batches/cancel', 'Cancel', { id: b.id }, 'danger')}</td></tr>`), 'No batches.')}`);
  });

  app.post('/batches/cancel', async (c) => {
    const id = String((await c.req.parseBody()).id ?? '');
    const record = await cancelBatch(d.driver, id, d.clock.now());
    return done(c, d, '/batches', record ? `Cancelled batch ${record.name ?? id}: its jobs not started will not run.` : `No batch ${id}.`);
  });
}
