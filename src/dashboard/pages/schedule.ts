/**
 * Schedule: the app's scheduled tasks with their expression, timezone and next run, and the
 * last runs of each with their outcome.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { noTasksHint } from '../../schedule/load.ts';
import { nextTick } from '../../schedule/timing.ts';
import type { Dashboard, DashboardEnv } from '../context.ts';
import { at, duration, relative } from '../format.ts';
import { page, table } from '../layout.ts';

/** Runs shown per task. */
const RUNS = 5;

export function scheduleRoutes(app: Hono<DashboardEnv>, d: Dashboard): void {
  app.get('/schedule', async (c) => {
    const now = d.clock.now();
    const tasks = await Promise.all(d.tasks.map(async (task) => ({
      task, zone: d.zoneOf(task), next: nextTick(task.expression, d.zoneOf(task), now), runs: await d.schedule.runs(task.taskName, RUNS),
    })));
    return page(c, d, 'Schedule', html`
      ${table(['Task', 'Kind', 'Schedule', 'Timezone', 'Next run', 'Last runs'], tasks.map(({ task, zone, next, runs }) => html`<tr data-task="${task.taskName}">
        <td>${task.taskName}${task.oneServer ? html` <span class="badge">one server</span>` : ''}${task.overlapSeconds !== null ? html` <span class="badge">no overlap</span>` : ''}</td>
        <td>${task.action.kind}</td><td class="mono">${task.expression}</td><td>${zone}</td>
        <td>${next === null ? 'never' : html`${at(next, zone)} <span class="small">(${relative(next, now)})</span>`}</td>
        <td>${runs.length === 0 ? html`<span class="zero">never ran</span>` : html`<ul class="runs">${runs.map((run) => html`<li>
          <span class="badge ${run.outcome}">${run.outcome}</span> ${at(run.startedAt, zone)}${run.durationMs === null ? '' : `, ${duration(run.durationMs)}`} on ${run.host}
          ${run.output ? html`<details><summary>output</summary><pre>${run.output}</pre></details>` : ''}</li>`)}</ul>`}</td>
      </tr>`), noTasksHint(d.config.root, d.config.source))}`);
  });
}
