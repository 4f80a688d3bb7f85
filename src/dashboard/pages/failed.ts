/**
 * Failed: the failed store, newest first, a page at a time, filtered by queue, job name, error
 * text, time range or batch, with counts that are the store's (by queue, by job); one failure's
 * detail (error, stack, payload, attempts); retry, forget; retry every match, with a page that
 * shows how far it got (kept in the store, so it outlives a restart of the dashboard).
 */
import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { FailedFilter, FailedJob, FailedPage } from '../../store/driver.ts';
import { cursorAfter } from '../../store/failed/failed-view.ts';
import { readFlow } from '../../flows/envelope.ts';
import { parseWhen } from '../../infra/when.ts';
import type { Dashboard, DashboardEnv } from '../context.ts';
import { at, duration } from '../format.ts';
import { action, done, link, page, table } from '../layout.ts';
import { maskedPayload } from '../mask.ts';
import { RetryRuns } from '../retry-all.ts';

const PAGE_SIZE = 50;
/** Pages of the failed store looked through for one page of a batch's failures. */
const BATCH_PAGES = 20;
const FILTERS = ['queue', 'name', 'error', 'since', 'until'] as const;

/** The first line of the stored exception: `Error: message`. */
const headline = (f: FailedJob) => f.exception.split('\n', 1)[0]!;

export function failedRoutes(app: Hono<DashboardEnv>, d: Dashboard): void {
  const zone = d.config.timezone;
  const runs = new RetryRuns(d.driver, d.clock);
  /** The filter of a request (a time the store cannot read is left out). */
  const filterOf = (read: (name: string) => string | undefined): { filter: FailedFilter; params: Record<string, string> } => {
    const params: Record<string, string> = {};
    for (const key of FILTERS) if (read(key)?.trim()) params[key] = read(key)!.trim();
    const time = (text: string | undefined) => {
      try {
        return text === undefined ? null : parseWhen(text, zone);
      } catch {
        return null;
      }
    };
    return { filter: { queue: params.queue ?? null, name: params.name ?? null, error: params.error ?? null, since: time(params.since), until: time(params.until) }, params };
  };

  app.get('/failed', async (c) => {
    const { filter, params } = filterOf((k) => c.req.query(k));
    const batch = c.req.query('batch') || null;
    const after = c.req.query('after') || null;
    const [listed, counts] = await Promise.all([batch ? batchPage(filter, batch, after) : d.driver.listFailed({ ...filter, after, limit: PAGE_SIZE }), d.driver.countFailed(filter)]);
    const url = (extra: Record<string, string>) => link(d, `/failed?${new URLSearchParams({ ...params, ...(batch && { batch }), ...extra })}`);
    const groupRows = (key: 'queue' | 'name') => Object.entries(key === 'queue' ? counts.byQueue : counts.byName).sort(([a], [b]) => (a < b ? -1 : 1)).map(([value, n]) => html`<tr>
      <td><a href="${url({ [key]: value })}">${value}</a></td><td class="num">${n}</td>
      <td class="actions">${action(c, d, '/failed/retry-all', `Retry all ${n}`, { ...params, [key]: value })}</td></tr>`);
    const filtered = Object.keys(params).length > 0 || batch !== null;
    return page(c, d, 'Failed jobs', html`
      <form method="get" action="${link(d, '/failed')}" class="row filters">
        <input type="search" name="error" value="${params.error ?? ''}" placeholder="error text" aria-label="Error text">
        <input type="text" name="queue" value="${params.queue ?? ''}" placeholder="queue" aria-label="Queue">
        <input type="text" name="name" value="${params.name ?? ''}" placeholder="job" aria-label="Job">
        <input type="text" name="since" value="${params.since ?? ''}" placeholder="since 2026-12-31 10:00" aria-label="Since">
        <input type="text" name="until" value="${params.until ?? ''}" placeholder="until" aria-label="Until">
        <button>Filter</button>${filtered ? html` <a href="${link(d, '/failed')}" class="small">show all</a>` : ''}
      </form>
      ${counts.total === 0 ? '' : html`<div class="split">
        <section><h2>By queue</h2>${table(['Queue', 'Failed', ''], groupRows('queue'), '')}</section>
        <section><h2>By job</h2>${table(['Job', 'Failed', ''], groupRows('name'), '')}</section>
      </div>`}
      <h2>Newest first${batch ? ` in batch ${batch}` : ''}</h2>
      <p class="count" data-total="${counts.total}">${counts.total} failed job${counts.total === 1 ? '' : 's'}${filtered && !batch ? ' match' : ''}
        ${counts.total > 0 && Object.keys(params).length > 0 ? action(c, d, '/failed/retry-all', `Retry all ${counts.total}`, params) : ''}</p>
      ${table(['Id', 'Job', 'Queue', 'Failed at', 'Attempts', 'Error', ''], listed.jobs.map((f) => html`<tr data-failed="${f.id}">
        <td><a href="${link(d, `/failed/${encodeURIComponent(f.id)}`)}" class="mono">${f.id}</a></td>
        <td class="name">${f.name}</td><td class="name">${f.queue}</td><td>${at(f.failedAt, zone)}</td><td class="num">${f.attempts}</td>
        <td class="error-text">${headline(f)}</td>
        <td class="actions">${action(c, d, `/failed/${encodeURIComponent(f.id)}/retry`, 'Retry')}${action(c, d, `/failed/${encodeURIComponent(f.id)}/forget`, 'Forget', {}, 'danger')}</td>
      </tr>`), filtered ? 'No failed job matches.' : 'No failed jobs.')}
      ${after || listed.next ? html`<nav class="pager">
        ${after ? html`<a href="${url({})}">← newest</a>` : ''}
        ${listed.next ? html`<a href="${url({ after: listed.next })}" rel="next">older →</a>` : ''}</nav>` : ''}`);
  });

  /** A page of a batch's failures: the failures whose payload names the batch, looked for a few store pages at a time. */
  async function batchPage(filter: FailedFilter, batch: string, after: string | null): Promise<FailedPage> {
    const jobs: FailedJob[] = [];
    let next = after;
    for (let i = 0; i < BATCH_PAGES && jobs.length < PAGE_SIZE; i++) {
      const listed = await d.driver.listFailed({ ...filter, after: next, limit: 1000 });
      for (const f of listed.jobs) {
        if (readFlow(f.payload)?.batch === batch && jobs.length < PAGE_SIZE) jobs.push(f);
        if (jobs.length === PAGE_SIZE) return { jobs, next: cursorAfter(f) };
      }
      next = listed.next;
      if (next === null) break;
    }
    return { jobs, next };
  }

  app.get('/failed/:id', async (c) => {
    const f = await d.driver.getFailed(c.req.param('id'));
    if (!f) return page(c, d, 'Failure not found', html`<p>No failed job has this id: it was retried or forgotten. <a href="${link(d, '/failed')}">All failed jobs</a></p>`, 404);
    const [first, ...stack] = f.exception.split('\n');
    return page(c, d, `Failed job ${f.id}`, html`
      <dl class="facts">
        <dt>Job</dt><dd>${f.name}</dd><dt>Queue</dt><dd>${f.queue}</dd><dt>Job id</dt><dd class="mono">${f.jobId}</dd>
        <dt>Failed at</dt><dd>${at(f.failedAt, zone)}</dd><dt>Attempts</dt><dd>${f.attempts}</dd>
        ${f.overlapKey !== null ? html`<dt>Overlap key</dt><dd class="mono">${f.overlapKey}</dd>` : ''}
      </dl>
      <h2>Error</h2><p class="error-text">${first}</p>
      ${stack.length > 0 ? html`<h2>Stack</h2><pre class="stack">${stack.join('\n')}</pre>` : ''}
      <h2>Payload</h2><pre class="payload">${maskedPayload(f.payload, d.config.dashboard_mask)}</pre>
      <p class="actions">${action(c, d, `/failed/${encodeURIComponent(f.id)}/retry`, 'Retry')}${action(c, d, `/failed/${encodeURIComponent(f.id)}/forget`, 'Forget', {}, 'danger')}</p>`);
  });

  app.post('/failed/:id/retry', async (c) => {
    const id = c.req.param('id');
    const { retried, overlapping } = await d.driver.retryFailed([id]);
    const message = retried.length > 0 ? `Failed job ${id} is queued again as job ${retried[0]!.jobId}.`
      : overlapping.length > 0 ? `Failed job ${id} stays failed: a pending or running job holds its overlap key.`
        : `Failed job ${id} is not in the failed store any more.`;
    return done(c, d, '/failed', message);
  });
  app.post('/failed/:id/forget', async (c) => {
    const id = c.req.param('id');
    const [gone] = await d.driver.forgetFailed([id]);
    return done(c, d, '/failed', gone ? `Forgot failed job ${id}.` : `Failed job ${id} is not in the failed store any more.`);
  });

  app.post('/failed/retry-all', async (c) => {
    const body = await c.req.parseBody();
    const { filter } = filterOf((k) => (typeof body[k] === 'string' ? body[k] : undefined));
    return c.redirect(link(d, `/failed/retry-all/${await runs.start(filter)}`), 303);
  });
  app.get('/failed/retry-all/:run', async (c) => runPage(c, await runs.get(c.req.param('run'))));

  function runPage(c: Context<DashboardEnv>, run: Awaited<ReturnType<RetryRuns['get']>>) {
    if (!run) return page(c, d, 'Retry not found', html`<p>This retry ended over a day ago. <a href="${link(d, '/failed')}">Failed jobs</a></p>`, 404);
    const total = Math.max(run.total, run.handled);
    const percent = total === 0 ? 100 : Math.floor((run.handled / total) * 100);
    const took = (run.finishedAt ?? d.clock.now()) - run.startedAt;
    const f = run.filter;
    const what = [f.queue && `queue ${f.queue}`, f.name && `job ${f.name}`, f.error && `error "${f.error}"`].filter(Boolean).join(', ') || 'every failed job';
    if (run.finishedAt === null) c.header('Refresh', '1');
    return page(c, d, `Retrying ${what}`, html`
      <progress max="${Math.max(total, 1)}" value="${total === 0 ? 1 : run.handled}" aria-label="progress"></progress>
      <p class="progress-text" data-finished="${String(run.finishedAt !== null)}">${run.handled} of ${total} handled (${percent}%) in ${duration(took)}${run.finishedAt === null ? '…' : '.'}</p>
      <dl class="facts"><dt>Queued again</dt><dd>${run.retried}</dd>
        <dt>Left failed (overlap key held)</dt><dd>${run.overlapping}</dd><dt>Gone meanwhile</dt><dd>${run.missing}</dd></dl>
      ${run.error ? html`<p class="error">Stopped: ${run.error}</p>` : ''}
      <p><a href="${link(d, '/failed')}">Failed jobs</a></p>`);
  }
}
