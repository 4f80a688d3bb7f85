/**
 * Locks: the overlap keys held by pending or running jobs (withoutOverlapping) and the
 * scheduler's run locks, each with its holder and age; release a stuck one.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { Dashboard, DashboardEnv } from '../context.ts';
import { at, duration, relative } from '../format.ts';
import { action, done, link, page, table } from '../layout.ts';

export function locksRoutes(app: Hono<DashboardEnv>, d: Dashboard): void {
  const zone = d.config.timezone;
  app.get('/locks', async (c) => {
    const now = d.clock.now();
    const [overlap, schedule] = await Promise.all([d.driver.listOverlapLocks(), d.schedule.locks()]);
    return page(c, d, 'Locks', html`
      <h2>Overlap keys</h2>
      <p class="hint">Held by a pending or running job dispatched withoutOverlapping; a new dispatch with the key is skipped until it ends. Releasing leaves the job as it is.</p>
      ${table(['Key', 'Held by', 'Queue', 'State', 'Age', ''], overlap.map((lock) => html`<tr data-lock="${lock.key}">
        <td class="mono">${lock.key}</td>
        <td><a class="name" href="${link(d, `/jobs/${encodeURIComponent(lock.jobId)}`)}">${lock.name}</a> <span class="mono small">${lock.jobId}</span></td>
        <td>${lock.queue}</td><td><span class="badge ${lock.state}">${lock.state}</span></td>
        <td title="${at(lock.since, zone)}">${duration(now - lock.since)}</td>
        <td class="actions">${action(c, d, '/locks/overlap/release', 'Release', { key: lock.key }, 'danger')}</td></tr>`), 'No overlap key is held.')}
      <h2>Schedule locks</h2>
      <p class="hint">Held by a scheduled task's run while it runs without overlapping (kept in ${d.driver.description}).</p>
      ${table(['Lock', 'Held by run', 'Age', 'Lapses', ''], schedule.map((lock) => html`<tr data-lock="${lock.name}">
        <td class="mono">${lock.name}</td><td class="mono">${lock.owner}</td>
        <td title="${at(lock.acquiredAt, zone)}">${duration(now - lock.acquiredAt)}</td>
        <td>${lock.expiresAt > now ? relative(lock.expiresAt, now) : html`<span class="badge failed">lapsed</span>`}</td>
        <td class="actions">${action(c, d, '/locks/schedule/release', 'Release', { name: lock.name }, 'danger')}</td></tr>`), 'No schedule lock is held.')}`);
  });

  app.post('/locks/overlap/release', async (c) => {
    const key = String((await c.req.parseBody()).key ?? '');
    return done(c, d, '/locks', (await d.driver.releaseOverlapLock(key)) ? `Released overlap key ${key}.` : `No job holds overlap key ${key} any more.`);
  });
  app.post('/locks/schedule/release', async (c) => {
    const name = String((await c.req.parseBody()).name ?? '');
    const removed = await d.schedule.clearLocks([name]);
    return done(c, d, '/locks', removed.length > 0 ? `Released schedule lock ${name}.` : `Schedule lock ${name} is not held any more.`);
  });
}
