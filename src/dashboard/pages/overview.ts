/**
 * Overview: per queue the jobs ready, scheduled, reserved and failed, whether it is paused, with
 * pause and resume; the groups (tenants) with the largest backlogs, each with pause and resume; with an outbox, the jobs committed to it that the relay has yet to move; and
 * the charts of what finished per minute.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { queuesAndWorkers } from '../../store/queues-in-sight.ts';
import { describeLane, laneOf } from '../../store/claims/lanes.ts';
import type { Dashboard, DashboardEnv } from '../context.ts';
import { action, done, hidden, link, page, table } from '../layout.ts';
import { chartsPanel } from '../metrics/panel.ts';

/** Groups the overview lists: the largest backlogs. */
const GROUPS_SHOWN = 20;

export function overviewRoutes(app: Hono<DashboardEnv>, d: Dashboard): void {
  app.get('/', async (c) => {
    // Emptied queues stay: those paused, listened on by workers, or that worked in the last hour.
    const { queues, groups } = await queuesAndWorkers(d.driver, d.clock.now(), d.config.metrics);
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
      ${groups.length === 0 ? '' : html`<h2>Groups</h2>
      <p class="hint">The ${groups.length > GROUPS_SHOWN ? `${GROUPS_SHOWN} of ${groups.length}` : groups.length} group${groups.length === 1 ? '' : 's'} with the largest backlogs; each queue's free slots go to its groups in turn.</p>
      ${table(['Queue', 'Group', 'Ready', 'Scheduled', 'Running', 'Failed', 'State', ''], groups.slice(0, GROUPS_SHOWN).map((g) => {
        const lane = laneOf(g.queue, g.group);
        return html`<tr data-group="${lane}">
          <td>${g.queue}</td><td class="name"><a href="${link(d, `/jobs?queue=${encodeURIComponent(lane)}`)}">${g.group}</a></td>
          <td class="num">${g.ready}</td><td class="num">${g.scheduled}</td><td class="num">${g.reserved}</td><td class="num">${g.failed}</td>
          <td>${g.paused ? html`<span class="badge paused">paused</span>` : html`<span class="badge running">running</span>`}</td>
          <td class="actions">${g.paused ? action(c, d, '/queues/resume', 'Resume', { queue: lane }) : action(c, d, '/queues/pause', 'Pause', { queue: lane })}</td>
        </tr>`;
      }), '')}`}
      <h2>Throughput</h2>
      ${chartsPanel({ base: d.basePath, timezone: d.config.timezone })}`);
  });

  app.post('/queues/pause', async (c) => {
    const queue = String((await c.req.parseBody()).queue ?? '').trim();
    if (queue === '') return done(c, d, '/', 'Name the queue to pause.');
    await d.driver.pauseQueue(queue);
    return done(c, d, '/', `Paused ${describeLane(queue)}: workers claim nothing from it within about a second.`);
  });
  app.post('/queues/resume', async (c) => {
    const queue = String((await c.req.parseBody()).queue ?? '');
    return done(c, d, '/', (await d.driver.resumeQueue(queue)) ? `Resumed ${describeLane(queue)}.` : `${describeLane(queue)} was not paused.`);
  });
}
