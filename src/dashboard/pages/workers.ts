/**
 * Workers: every live worker process on every host sharing the store (host, pid, queues, running
 * jobs, since, last heartbeat), then the last ones that stopped, with why.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { WorkerEnd } from '../../store/admin-store.ts';
import type { Dashboard, DashboardEnv } from '../context.ts';
import { at, relative } from '../format.ts';
import { link, page, table } from '../layout.ts';

const WHY: Record<WorkerEnd, string> = {
  signal: 'stopped by a signal', forced: 'forced to stop by a second signal', once: 'ran one job (--once)',
  empty: 'queues empty (--stop-when-empty)', 'max-jobs': 'reached --max-jobs', 'max-time': 'reached --max-time',
  memory: 'over its memory limit', restart: 'job:restart', recycled: 'recycled by its manager',
  'timeout-kill': 'killed: a job ran past its timeout', crash: 'crashed', lost: 'lost: its heartbeats stopped',
};

export function workersRoutes(app: Hono<DashboardEnv>, d: Dashboard): void {
  const zone = d.config.timezone;
  app.get('/workers', async (c) => {
    const now = d.clock.now();
    const workers = await d.driver.listWorkers(now);
    const live = workers.filter((w) => w.stoppedAt === null && w.end === null);
    const stopped = workers.filter((w) => !live.includes(w));
    return page(c, d, 'Workers', html`
      <h2>Live <span class="small">(${live.length})</span></h2>
      ${table(['Host', 'Pid', 'Queues', 'Running', 'Since', 'Last heartbeat', 'Done', 'Failed attempts'], live.map((w) => html`<tr data-worker="${w.id}">
        <td>${w.host}</td><td class="num">${w.pid}</td><td>${w.queues ? w.queues.join(', ') : html`<em>every queue</em>`}</td>
        <td>${w.running.length === 0 ? html`<span class="zero">idle</span>` : w.running.map((r) => html`<div><a href="${link(d, `/jobs/${encodeURIComponent(r.id)}`)}">${r.name}</a> on ${r.queue}, ${relative(r.startedAt, now).replace(' ago', '')}</div>`)}</td>
        <td title="${at(w.startedAt, zone)}">${relative(w.startedAt, now)}</td><td>${relative(w.beatAt, now)}</td>
        <td class="num">${w.done}</td><td class="num">${w.failed}</td></tr>`), 'No live workers.')}
      <h2>Recently stopped</h2>
      ${table(['Host', 'Pid', 'Queues', 'Started', 'Stopped', 'Why', 'Done', 'Failed attempts'], stopped.map((w) => html`<tr data-worker="${w.id}">
        <td>${w.host}</td><td class="num">${w.pid}</td><td>${w.queues ? w.queues.join(', ') : html`<em>every queue</em>`}</td>
        <td>${at(w.startedAt, zone)}</td><td>${w.stoppedAt === null ? html`last beat ${relative(w.beatAt, now)}` : relative(w.stoppedAt, now)}</td>
        <td><span class="badge ${w.end === 'crash' || w.end === 'lost' || w.end === 'timeout-kill' ? 'failed' : ''}">${w.end ?? ''}</span> ${w.end ? WHY[w.end] : ''}</td>
        <td class="num">${w.done}</td><td class="num">${w.failed}</td></tr>`), 'No worker has stopped lately.')}`);
  });
}
