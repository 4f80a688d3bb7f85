/**
 * dashboardHandler() in an app's own Node HTTP server, mounted under a path: its pages, links
 * and stylesheet live under that path, and it reads the app's store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardHandler, type DashboardHandler } from '../../src/index.ts';
import type { AdminDriver } from '../../src/store/driver.ts';
import { closeRuntime, configure } from '../../src/api/runtime.ts';
import { makeApp, type TestApp } from '../helpers/app.ts';

describe('dashboardHandler() in an app\'s own server', () => {
  let scratch: string;
  let app: TestApp;
  let server: Server;
  let handler: DashboardHandler;
  let base: string;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'rakit-dash-'));
    const config = { database: `sqlite:${path.join(scratch, 'jobs.sqlite')}` };
    app = makeApp(config);
    for (const args of [['job:table'], ['schedule:table'], ['migrate']]) expect((await app.rakit(args)).code).toBe(0);
    const rt = await configure(config, { root: app.dir });
    await (rt.driver as AdminDriver).pauseQueue('exports');
    handler = dashboardHandler({ basePath: '/admin/jobs' });
    server = createServer((req, res) => {
      if (req.url?.startsWith('/admin/jobs')) return handler(req, res);
      res.end('the app');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }, 60_000);
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await handler?.close();
    await closeRuntime();
    app?.remove();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('serves the pages under its path with links and assets there too', async () => {
    const overview = await fetch(`${base}/admin/jobs`);
    expect(overview.status).toBe(200);
    const text = await overview.text();
    expect(text).toContain('<tr data-queue="exports">');
    expect(text).toContain('href="/admin/jobs/failed"');
    expect(text).toContain('href="/admin/jobs/assets/dashboard.css"');
    expect((await fetch(`${base}/admin/jobs/assets/dashboard.css`)).headers.get('content-type')).toContain('text/css');
    expect((await fetch(`${base}/admin/jobs/schedule`)).status).toBe(200);
    expect(await (await fetch(`${base}/`)).text()).toBe('the app');
  });
});
