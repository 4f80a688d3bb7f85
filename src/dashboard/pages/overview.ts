/**
 * Overview: per queue the jobs ready, scheduled, reserved and failed, whether it is paused, with
 * pause and resume; with an outbox, the jobs committed to it that the relay has yet to move; and
 * the charts of what finished per minute.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { queuesInSight } from '../../store/queues-in-sight.ts';
import type { Dashboard, DashboardEnv } from '../context.ts';
import { action, done, hidden, link, page, table } from '../layout.ts';
import { chartsPanel } from '../metrics/panel.ts';

export function overviewRoutes(app: Hono<DashboardEnv>, d: Dashboard): void {
  app.get('/', async (c) => {
    // Emptied queues stay: those paused, listened on by workers, or that worked in the last hour.
    const queues = await queuesInSight(d.driver, d.clock.now(), d.config.metrics);
    const outbox = await d.outboxBacklog().then((n) => ({ n, error: null }), (error: unknown) => ({ n: null, error: (error as Error).message }));
    const count = (n: number, href: string) => (n > 0 ? html`<a href="${link(d, href)}">${n}</a>` : html`<span class="zero">0</span>`);
    return page(c, d, 'Overview', html`
      <section class="cards">
        ${(['ready', 'scheduled', 'reserved', 'failed'] as const).map((key) => html`
          <div class="card ${key}"><span class="label">${key}</span><span class="value">${queues.reduce((t, q) => t + q[key], 0)}</span></div>`)}
        ${outbox.n === null && outbox.error === null ? '' : html`
          <div class="card outbox" title="${outbox.error ?? `committed in the app's transactions to ${d.config.outbox_table}, waiting for the relay (job:runall, job:relay)`}">
            <span class="label">outbox</span><span class="value">${outbox.n ?? '–'}</span></div>`}
      </section>
      <h2>Queues</h2>
      ${table(['Queue', 'Ready', 'Scheduled', 'Reserved', 'Failed', 'State', ''], queues.map((q) => {
        const isPaused = q.paused;
        const jobs = (state: string) => `/jobs?queue=${encodeURIComponent(q.queue)}&state=${state}`;
        return html`<tr data-queue="${q.queue}">
          <td><a href="${link(d, `/jobs?queue=${encodeURIComponent(q.queue)}`)}">${q.queue}</a></td>
          <td class="num">${count(q.ready, jobs('ready'))}</td><td class="num">${count(q.scheduled, jobs('scheduled'))}</td>
          <td class="num">${count(q.reserved, jobs('reserved'))}</td><td class="num">${count(q.failed, `/failed?queue=${encodeURIComponent(q.queue)}`)}</td>
          <td>${isPaused ? html`<span class="badge paused">paused</span>` : html`<span class="badge running">running</span>`}</td>
          <td class="actions">${isPaused ? action(c, d, '/queues/resume', 'Resume', { queue: q.queue }) : action(c, d, '/queues/pause', 'Pause', { queue: q.queue })}</td>
        </tr>`;
      }), 'No queue has jobs, workers or recent work.')}
      ${d.readOnly ? '' : html`<form method="post" action="${link(d, '/queues/pause')}" class="row">${hidden(c)}
        <label>Pause a queue by name <input name="queue" required placeholder="queue"></label><button>Pause</button></form>`}
      <h2>Throughput</h2>
      ${chartsPanel({ base: d.basePath, timezone: d.config.timezone })}`);
  });

  app.post('/queues/pause', async (c) => {
    const queue = String((await c.req.parseBody()).queue ?? '').trim();
    if (queue === '') return done(c, d, '/', 'Name the queue to pause.');
    await d.driver.pauseQueue(queue);
    return done(c, d, '/', `Paused ${queue}: workers claim nothing from it within about a second.`);
  });
  app.post('/queues/resume', async (c) => {
    const queue = String((await c.req.parseBody()).queue ?? '');
    return done(c, d, '/', (await d.driver.resumeQueue(queue)) ? `Resumed ${queue}.` : `${queue} was not paused.`);
  });
}
