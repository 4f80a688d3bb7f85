/**
 * The dashboard as a Hono app: security headers, sign-in, form protection, the shipped assets
 * one module of routes per page, and the metrics routes (metrics/). `dashboardApp` builds it over an opened Dashboard.
 */
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { authenticate, loginRoutes } from './auth.ts';
import { openDashboard, type Dashboard, type DashboardEnv, type DashboardOptions } from './context.ts';
import { protectPosts } from './csrf.ts';
import { page } from './layout.ts';
import { metricsRoutes } from './metrics/routes.ts';
import { batchesRoutes } from './pages/batches.ts';
import { failedRoutes } from './pages/failed.ts';
import { jobsRoutes } from './pages/jobs.ts';
import { locksRoutes } from './pages/locks.ts';
import { overviewRoutes } from './pages/overview.ts';
import { scheduleRoutes } from './pages/schedule.ts';
import { workersRoutes } from './pages/workers.ts';
import { Sessions } from './session.ts';

export function dashboardApp(d: Dashboard): Hono<DashboardEnv> {
  const sessions = new Sessions(d.config, d.basePath);
  const app = new Hono<DashboardEnv>().basePath(d.basePath || '/');
  app.use(secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'], frameAncestors: ["'none'"], formAction: ["'self'"] },
    referrerPolicy: 'same-origin',
    // Only what terminates TLS knows whether HTTPS is in use: a proxy in front sets HSTS.
    strictTransportSecurity: false,
  }));
  app.use(authenticate(d, sessions));
  app.use(protectPosts(d, sessions));

  // The stylesheet and chart assets, /metrics and /api/series.
  metricsRoutes(app, { driver: d.driver, config: d.config, now: () => d.clock.now() });
  loginRoutes(app, d, sessions);
  overviewRoutes(app, d);
  jobsRoutes(app, d);
  failedRoutes(app, d);
  workersRoutes(app, d);
  locksRoutes(app, d);
  batchesRoutes(app, d);
  scheduleRoutes(app, d);

  app.notFound((c) => page(c, d, 'Not found', html`<p>There is no such page.</p>`, 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    console.error(`rakit dashboard: ${c.req.method} ${c.req.path}: ${error.stack ?? error.message}`);
    return c.text(`The dashboard could not answer: ${error.message}`, 500);
  });
  return app;
}

/** The dashboard of the app's runtime as a Node request listener, and the Dashboard to close. */
export async function dashboardListener(options: DashboardOptions) {
  const dashboard = await openDashboard(options);
  return { dashboard, listener: getRequestListener(dashboardApp(dashboard).fetch) };
}
