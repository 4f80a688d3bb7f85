/**
 * Jobs: the pending jobs (ready, scheduled, reserved) in claim order, paged, filtered by state
 * and queue and searched by id, name or queue; one job's detail (once finished, its kept result); cancel a job (a pending one is
 * deleted, a running one asked to stop: flows/cancel-job.ts), run a scheduled one now. A job that reports progress (`this.progress(40, 'chunk 4/10')`) shows it.
 */
import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { JobState, JobSummary } from '../../store/admin-store.ts';
import { cancelJob, heldBy } from '../../flows/cancel-job.ts';
import { listProgress, PROGRESS_NAMESPACE, type JobProgress } from '../../middleware/progress.ts';
import type { Dashboard, DashboardEnv } from '../context.ts';
import { at, relative } from '../format.ts';
import { maskedPayload } from '../mask.ts';
import { JobResults, readResult } from '../../store/job-results.ts';
import { action, done, link, page, table } from '../layout.ts';

const PAGE_SIZE = 50;
const STATES: JobState[] = ['ready', 'scheduled', 'reserved'];

export function jobsRoutes(app: Hono<DashboardEnv>, d: Dashboard): void {
  const zone = d.config.timezone;

  app.get('/jobs', async (c) => {
    const state = STATES.find((s) => s === c.req.query('state')) ?? null;
    const queue = c.req.query('queue') || null;
    const search = c.req.query('q')?.trim() || null;
    const pageNo = Math.max(1, Number.parseInt(c.req.query('page') ?? '1', 10) || 1);
    const [{ jobs, total }, reported] = await Promise.all([
      d.driver.listJobs({ state, queue, search, offset: (pageNo - 1) * PAGE_SIZE, limit: PAGE_SIZE }),
      listProgress(d.driver, 500),
    ]);
    const progress = new Map(reported.map((p) => [p.id, p]));
    const now = d.clock.now();
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const query = (n: number) => `/jobs?${new URLSearchParams({ ...(state && { state }), ...(queue && { queue }), ...(search && { q: search }), page: String(n) })}`;
    return page(c, d, 'Jobs', html`
      <form method="get" action="${link(d, '/jobs')}" class="row filters">
        <input type="search" name="q" value="${search ?? ''}" placeholder="id, name or queue" aria-label="Search">
        <select name="state" aria-label="State"><option value="">every state</option>${STATES.map((s) => html`<option ${s === state ? 'selected' : ''}>${s}</option>`)}</select>
        ${queue ? html`<input type="hidden" name="queue" value="${queue}"><span class="chip">queue ${queue} <a href="${link(d, '/jobs')}" aria-label="clear">×</a></span>` : ''}
        <button>Search</button>
      </form>
      <p class="count">${total} job${total === 1 ? '' : 's'}${total > PAGE_SIZE ? `, page ${pageNo} of ${pages}` : ''}</p>
      ${table(['Id', 'Job', 'Queue', 'State', 'Due', 'Attempts', 'Progress', 'Overlap key', ''], jobs.map((job) => html`<tr data-job="${job.id}">
        <td><a href="${link(d, `/jobs/${encodeURIComponent(job.id)}`)}" class="mono">${job.id}</a></td>
        <td class="name">${job.name}</td><td class="name">${job.queue}</td>
        <td>${stateBadge(job)}</td>
        <td title="${heldBy(job) ? '' : at(job.scheduledAt, zone)}">${heldBy(job) ? heldUntil(job) : relative(job.scheduledAt, now)}</td>
        <td class="num">${job.attempts}</td><td class="progress">${progressBar(progress.get(job.id))}</td><td class="mono">${job.overlapKey ?? ''}</td>
        <td class="actions">${actions(c, job)}</td>
      </tr>`), search || state || queue ? 'No pending job matches.' : 'No pending jobs.')}
      ${pages > 1 ? html`<nav class="pager">
        ${pageNo > 1 ? html`<a href="${link(d, query(pageNo - 1))}">← newer</a>` : ''}
        ${pageNo < pages ? html`<a href="${link(d, query(pageNo + 1))}">later →</a>` : ''}</nav>` : ''}`);
  });

  app.get('/jobs/:id', async (c) => {
    const id = c.req.param('id');
    const [job, record] = await Promise.all([d.driver.getJob(id), d.driver.getRecord(PROGRESS_NAMESPACE, id)]);
    const reported = record ? (JSON.parse(record.value) as JobProgress) : null;
    if (!job) return finished(c, id);
    return pendingPage(c, job, reported);
  });

  /** A job no longer pending: its kept result (or final error), else not found. */
  const finished = async (c: Context<DashboardEnv>, id: string) => {
    const result = await readResult(d.driver, id);
    if (result) {
      const value = !result.done ? html`<h2>Error</h2><pre class="payload">${result.error}</pre>`
        : 'dropped' in result ? html`<p>Its result was not kept: ${result.dropped}</p>`
          : html`<h2>Result</h2><pre class="payload">${maskedPayload(JSON.stringify(result.value), d.config.dashboard_mask)}</pre>`;
      const state = result.done ? 'finished' : 'cancelled' in result ? 'cancelled' : 'failed';
      return page(c, d, `Job ${id}`, html`<dl class="facts"><dt>State</dt><dd>${state}</dd><dt>${state[0]!.toUpperCase() + state.slice(1)}</dt><dd>${at(result.at, zone)}</dd></dl>${value}`);
    }
    return page(c, d, 'Job not found', html`<p>No pending job has this id: it ran, failed or was cancelled. <a href="${link(d, '/jobs')}">All jobs</a></p>`, 404);
  };

  const pendingPage = (c: Context<DashboardEnv>, job: JobSummary, reported: JobProgress | null) => {
    const now = d.clock.now();
    return page(c, d, `Job ${job.id}`, html`
      <dl class="facts">
        <dt>Job</dt><dd>${job.name}</dd><dt>Queue</dt><dd>${job.queue}</dd>
        <dt>State</dt><dd>${stateBadge(job)}</dd>
        <dt>Due</dt><dd>${heldBy(job) ? heldUntil(job) : html`${at(job.scheduledAt, zone)} (${relative(job.scheduledAt, now)})`}</dd>
        <dt>Stored</dt><dd>${at(job.createdAt, zone)}</dd><dt>Attempts</dt><dd>${job.attempts}</dd>
        ${job.reservedUntil !== null ? html`<dt>Lease ends</dt><dd>${at(job.reservedUntil, zone)}</dd>` : ''}
        ${job.overlapKey !== null ? html`<dt>Overlap key</dt><dd class="mono">${job.overlapKey}</dd>` : ''}
        ${reported ? html`<dt>Progress</dt><dd class="progress">${progressBar(reported)} <span title="${at(reported.at, zone)}">${relative(reported.at, now)}</span></dd>` : ''}
      </dl>
      <h2>Payload</h2><pre class="payload">${maskedPayload(job.payload, d.config.dashboard_mask)}</pre>
      <p class="actions">${actions(c, job)}</p>`);
  };

  /** Run now (a scheduled job) and Cancel (a running job is asked to stop); none while its workflow holds it. */
  const actions = (c: Context<DashboardEnv>, job: JobSummary) => heldBy(job) ? '' : html`${job.state === 'scheduled' ? action(c, d, `/jobs/${encodeURIComponent(job.id)}/run-now`, 'Run now') : ''}
    ${action(c, d, `/jobs/${encodeURIComponent(job.id)}/cancel`, 'Cancel', {}, 'danger')}`;

  app.post('/jobs/:id/cancel', async (c) => {
    const id = c.req.param('id');
    const job = await d.driver.getJob(id);
    const held = job && heldBy(job);
    if (held) return refuse(c, d, id, held);
    const outcome = await cancelJob(d.driver, id, { now: d.clock.now(), by: 'dashboard', results: new JobResults(d.driver, d.config, console) });
    return done(c, d, '/jobs', outcome === 'cancelled' ? `Cancelled job ${id}.`
      : outcome === 'requested' ? `Job ${id} is running: its worker was asked to stop it (within about a second; it is recorded cancelled once its code has stopped).`
        : `Job ${id} is not pending or running any more (done or gone).`);
  });
  app.post('/jobs/:id/run-now', async (c) => {
    const id = c.req.param('id');
    const job = await d.driver.getJob(id);
    const held = job && heldBy(job);
    if (held) return refuse(c, d, id, held);
    return done(c, d, '/jobs', job && (await d.driver.runJobNow(id)) ? `Job ${id} is due now.` : `Job ${id} is not scheduled any more.`);
  });
}

/** A held job is its workflow's to run or drop: running it early would break the chain's order or the batch's callbacks. */
function refuse(c: Context<DashboardEnv>, d: Dashboard, id: string, held: string) {
  const what = held === 'chain' ? 'its chain makes it due when the job before it succeeds, and drops it if that one fails'
    : held === 'batch callback' ? 'its batch makes it due or drops it when the batch finishes (cancel the batch on the Batches page instead)'
      : 'its workflow makes it due or drops it';
  return page(c, d, 'Job is held', html`<p>Job ${id} is held (${held}): ${what}. <a href="${link(d, `/jobs/${encodeURIComponent(id)}`)}">Back to the job</a></p>`, 409);
}

/** When a held job becomes due. */
function heldUntil(job: JobSummary): string {
  const held = heldBy(job);
  return held === 'chain' ? 'when the job before it succeeds' : held === 'batch callback' ? 'when its batch gets there' : 'when its workflow makes it due';
}

function stateBadge(job: JobSummary) {
  const held = heldBy(job);
  return held ? html`<span class="badge scheduled">held (${held})</span>` : html`<span class="badge ${job.state}">${job.state}</span>`;
}

/** What a job last reported of its progress: a bar, the percent and its message. */
function progressBar(p: JobProgress | undefined) {
  if (!p) return '';
  return html`<progress max="100" value="${p.percent}">${p.percent}%</progress> <span class="num">${p.percent}%</span>${p.message ? html` <span class="muted">${p.message}</span>` : ''}`;
}
