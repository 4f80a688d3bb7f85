/**
 * Failed: the failed store, newest first, filtered by queue, job name or batch; one failure's detail
 * (error, stack, payload, attempts); retry, forget; retry all of a queue or job name, with a
 * page that shows how far it got.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { FailedJob } from '../../store/driver.ts';
import { readFlow } from '../../flows/envelope.ts';
import type { Dashboard, DashboardEnv } from '../context.ts';
import { at, duration } from '../format.ts';
import { action, done, link, page, table } from '../layout.ts';
import { maskedPayload } from '../mask.ts';
import { RetryRuns } from '../retry-all.ts';

/** The failures a page looks through (listFailed takes the oldest first). */
const SHOWN = 1000;

/** The first line of the stored exception: `Error: message`. */
const headline = (f: FailedJob) => f.exception.split('\n', 1)[0]!;

export function failedRoutes(app: Hono<DashboardEnv>, d: Dashboard): void {
  const zone = d.config.timezone;
  const runs = new RetryRuns(d.driver, () => d.clock.now());
  const find = async (id: string) => (await d.driver.listFailed(SHOWN)).find((f) => f.id === id);

  app.get('/failed', async (c) => {
    const queue = c.req.query('queue') || null;
    const name = c.req.query('name') || null;
    const batch = c.req.query('batch') || null;
    const all = (await d.driver.listFailed(SHOWN)).reverse();
    const shown = all.filter((f) => (!queue || f.queue === queue) && (!name || f.name === name) && (!batch || readFlow(f.payload)?.batch === batch));
    const groups = (key: 'queue' | 'name') => [...new Set(all.map((f) => f[key]))].sort().map((value) => ({ value, n: all.filter((f) => f[key] === value).length }));
    const groupRows = (key: 'queue' | 'name') => groups(key).map(({ value, n }) => html`<tr>
      <td><a href="${link(d, `/failed?${key}=${encodeURIComponent(value)}`)}">${value}</a></td><td class="num">${n}</td>
      <td class="actions">${action(c, d, '/failed/retry-all', `Retry all ${n}`, { by: key, value })}</td></tr>`);
    return page(c, d, 'Failed jobs', html`
      ${all.length === 0 ? '' : html`<div class="split">
        <section><h2>By queue</h2>${table(['Queue', 'Failed', ''], groupRows('queue'), '')}</section>
        <section><h2>By job</h2>${table(['Job', 'Failed', ''], groupRows('name'), '')}</section>
      </div>`}
      <h2>${queue || name || batch ? html`Failed ${queue ? `on ${queue}` : ''} ${name ? `of ${name}` : ''} ${batch ? `in batch ${batch}` : ''} <a href="${link(d, '/failed')}" class="small">show all</a>` : 'Newest first'}</h2>
      ${table(['Id', 'Job', 'Queue', 'Failed at', 'Attempts', 'Error', ''], shown.map((f) => html`<tr data-failed="${f.id}">
        <td><a href="${link(d, `/failed/${encodeURIComponent(f.id)}`)}" class="mono">${f.id}</a></td>
        <td class="name">${f.name}</td><td class="name">${f.queue}</td><td>${at(f.failedAt, zone)}</td><td class="num">${f.attempts}</td>
        <td class="error-text">${headline(f)}</td>
        <td class="actions">${action(c, d, `/failed/${encodeURIComponent(f.id)}/retry`, 'Retry')}${action(c, d, `/failed/${encodeURIComponent(f.id)}/forget`, 'Forget', {}, 'danger')}</td>
      </tr>`), 'No failed jobs.')}`);
  });

  app.get('/failed/:id', async (c) => {
    const f = await find(c.req.param('id'));
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
    return done(c, d, '/failed', (await d.driver.forgetFailed(id)) ? `Forgot failed job ${id}.` : `Failed job ${id} is not in the failed store any more.`);
  });

  app.post('/failed/retry-all', async (c) => {
    const body = await c.req.parseBody();
    const by = body.by === 'name' ? 'name' : 'queue';
    const value = String(body.value ?? '');
    const run = await runs.start(by, value);
    return c.redirect(link(d, `/failed/retry-all/${run.id}`), 303);
  });
  app.get('/failed/retry-all/:run', (c) => {
    const run = runs.get(c.req.param('run'));
    if (!run) return page(c, d, 'Retry not found', html`<p>This retry ended over an hour ago or before a restart. <a href="${link(d, '/failed')}">Failed jobs</a></p>`, 404);
    const percent = run.total === 0 ? 100 : Math.floor((run.handled / run.total) * 100);
    const took = (run.finishedAt ?? d.clock.now()) - run.startedAt;
    if (run.finishedAt === null) c.header('Refresh', '1');
    return page(c, d, `Retrying ${run.by === 'queue' ? 'queue' : 'job'} ${run.value}`, html`
      <progress max="${Math.max(run.total, 1)}" value="${run.total === 0 ? 1 : run.handled}" aria-label="progress"></progress>
      <p class="progress-text" data-finished="${String(run.finishedAt !== null)}">${run.handled} of ${run.total} handled (${percent}%) in ${duration(took)}${run.finishedAt === null ? '…' : '.'}</p>
      <dl class="facts"><dt>Queued again</dt><dd>${run.retried}</dd>
        <dt>Left failed (overlap key held)</dt><dd>${run.overlapping}</dd><dt>Gone meanwhile</dt><dd>${run.missing}</dd></dl>
      ${run.error ? html`<p class="error">Stopped: ${run.error}</p>` : ''}
      <p><a href="${link(d, '/failed')}">Failed jobs</a></p>`);
  });
}
