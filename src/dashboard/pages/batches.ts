/**
 * Batches: every batch the store keeps (src/flows/), newest first, with its progress, counts
 * and status; one batch's page (/batches/<id>) with its counts, callbacks and failed jobs; cancel
 * a running one after a confirmation (its jobs not started are not run, `finally` still runs).
 */
import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import { cancelFromOutside } from '../../flows/batches/batch-gone.ts';
import { batchView, type BatchRecord } from '../../flows/batches/batch-record.ts';
import { listBatches, readBatch } from '../../flows/batches/batch-store.ts';
import { heldBy } from '../../flows/cancel-job.ts';
import type { Dashboard, DashboardEnv } from '../context.ts';
import { at } from '../format.ts';
import { done, hidden, link, page, table } from '../layout.ts';

type Ctx = Context<DashboardEnv>;
type View = ReturnType<typeof batchView>;

const batchPath = (id: string) => `/batches/${encodeURIComponent(id)}`;

export function batchesRoutes(app: Hono<DashboardEnv>, d: Dashboard): void {
  const zone = d.config.timezone;
  app.get('/batches', async (c) => {
    const batches = (await listBatches(d.driver, 200)).map(batchView);
    return page(c, d, 'Batches', html`
      <p class="hint">Jobs dispatched together with Job.batch(); finished batches are kept 7 days.</p>
      ${table(['Batch', 'Progress', 'Total', 'Pending', 'Failed', 'Status', 'Created', ''], batches.map((b) => html`<tr data-batch="${b.id}">
        <td><a class="name" href="${link(d, batchPath(b.id))}">${b.name ?? '(no name)'}</a> <span class="mono small">${b.id}</span></td>
        <td class="progress">${bar(b)}</td>
        <td>${b.totalJobs}</td><td>${b.pendingJobs}</td><td>${b.failedJobs}</td>
        <td class="name">${badge(b)}</td>
        <td>${at(Date.parse(b.createdAt), zone)}</td>
        <td class="actions">${cancelLink(d, b)}</td></tr>`), 'No batches.')}`);
  });

  app.get('/batches/:id', async (c) => {
    const record = await readBatch(d.driver, c.req.param('id'));
    if (!record) return missing(c, d);
    const b = batchView(record);
    return page(c, d, `Batch ${b.name ?? b.id}`, html`
      <dl class="facts">
        <dt>Id</dt><dd class="mono">${b.id}</dd><dt>Queue</dt><dd>${b.queue}</dd>
        <dt>Status</dt><dd>${badge(b)}</dd><dt>Progress</dt><dd class="progress">${bar(b)}</dd>
        <dt>Jobs</dt><dd>${b.totalJobs} in all: ${b.doneJobs} done, ${b.failedJobs} failed, ${b.skippedJobs} not run, ${b.pendingJobs} pending</dd>
        <dt>Failures</dt><dd>${b.allowFailures ? 'allowed (the other jobs still run)' : 'the first one cancels the batch'}</dd>
        <dt>Created</dt><dd>${at(Date.parse(b.createdAt), zone)}</dd>
        ${b.cancelledAt ? html`<dt>Cancelled</dt><dd>${at(Date.parse(b.cancelledAt), zone)}</dd>` : ''}
        ${b.finishedAt ? html`<dt>Finished</dt><dd>${at(Date.parse(b.finishedAt), zone)}</dd>` : ''}
      </dl>
      <h2>Callbacks</h2>${await callbacks(d, record)}
      ${b.failedJobs > 0 ? html`<p><a href="${link(d, `/failed?batch=${encodeURIComponent(b.id)}`)}">Its failed jobs</a></p>` : ''}
      <p class="actions">${cancelLink(d, b)}</p>`);
  });

  app.get('/batches/:id/cancel', async (c) => {
    const record = await readBatch(d.driver, c.req.param('id'));
    if (!record) return missing(c, d);
    const b = batchView(record);
    if (b.finishedAt || b.cancelledAt) return done(c, d, batchPath(b.id), `Batch ${b.name ?? b.id} is already ${b.status}.`);
    return page(c, d, `Cancel batch ${b.name ?? b.id}?`, html`
      <p>Its ${b.pendingJobs} pending jobs will not run (a job already running finishes); then will not run; finally will.</p>
      ${d.readOnly ? '' : html`<form method="post" action="${link(d, '/batches/cancel')}" class="inline">${hidden(c, { id: b.id, confirm: 'yes' })}<button class="danger">Cancel the batch</button></form>`}
      <a href="${link(d, batchPath(b.id))}">Keep it running</a>`);
  });

  app.post('/batches/cancel', async (c) => {
    const body = await c.req.parseBody();
    const id = String(body.id ?? '');
    if (body.confirm !== 'yes') return c.redirect(link(d, `${batchPath(id)}/cancel`), 303);
    const { record, cancelled, gone } = await cancelFromOutside(d.driver, id, d.clock.now());
    if (!record) return done(c, d, '/batches', `No batch ${id}.`);
    const name = record.name ?? id;
    const message = cancelled ? `Cancelled batch ${name}: its jobs not started will not run.` : `Batch ${name} was already ${batchView(record).status}.`;
    return done(c, d, '/batches', gone > 0 ? `${message} ${gone} of its jobs were no longer stored: counted as not run.` : message);
  });
}

/**
 * Done and failed jobs as a share of all: a cancelled batch's jobs that never ran do not fill it.
 * The title says how many settled.
 */
function bar(b: View) {
  const ran = b.totalJobs === 0 ? 100 : Math.floor(((b.doneJobs + b.failedJobs) * 100) / b.totalJobs);
  return html`<progress max="100" value="${ran}" title="${b.processedJobs} of ${b.totalJobs} settled"></progress> ${ran}%${b.skippedJobs > 0 ? html` <span class="muted">${b.skippedJobs} not run</span>` : ''}`;
}

/**
 * Red only for a batch its failures cancelled (or one cancelled by hand). Failures a batch allows
 * are not its failure: a running one says how many beside its state, in amber, and one finished
 * with them is amber.
 */
function badge(b: View) {
  const red = b.cancelledAt !== null || (b.failedJobs > 0 && !b.allowFailures);
  const kind = red ? 'failed' : b.finishedAt ? (b.failedJobs > 0 ? 'allowed' : 'done') : 'ready';
  const allowed = !red && !b.finishedAt && b.failedJobs > 0 ? html` <span class="badge allowed">${b.failedJobs} failed (allowed)</span>` : '';
  return html`<span class="badge ${kind}">${b.status}</span>${allowed}`;
}

function cancelLink(d: Dashboard, b: View) {
  return b.finishedAt || b.cancelledAt || d.readOnly ? '' : html`<a class="button danger" href="${link(d, `${batchPath(b.id)}/cancel`)}">Cancel</a>`;
}

function missing(c: Ctx, d: Dashboard) {
  return page(c, d, 'Batch not found', html`<p>No batch has this id (finished batches are kept 7 days). <a href="${link(d, '/batches')}">All batches</a></p>`, 404);
}

/** Each callback and where it stands: held, due or running (a link to it), or no longer stored (ran or dropped). */
async function callbacks(d: Dashboard, record: BatchRecord) {
  const kinds = (['then', 'catch', 'finally'] as const).filter((k) => record.callbacks[k]);
  if (kinds.length === 0) return html`<p class="empty">None.</p>`;
  const jobs = await Promise.all(kinds.map((k) => d.driver.getJob(record.callbacks[k]!)));
  return table(['Callback', 'Job', 'State'], kinds.map((kind, k) => {
    const job = jobs[k];
    const state = !job ? 'ran or dropped' : heldBy(job) ? 'held' : job.state;
    return html`<tr data-callback="${kind}"><td>${kind}</td>
      <td>${job ? html`<a class="mono" href="${link(d, `/jobs/${encodeURIComponent(job.id)}`)}">${job.id}</a> <span class="name">${job.name}</span>` : html`<span class="mono">${record.callbacks[kind]}</span>`}</td>
      <td>${state}</td></tr>`;
  }), '');
}
