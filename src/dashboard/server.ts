/**
 * `rakit job:dashboard`'s server: refuses an address other than loopback without a password or
 * token, serves the dashboard there until SIGINT or SIGTERM, then closes what it opened.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import os from 'node:os';
import { serve } from '@hono/node-server';
import { UsageError } from '../infra/errors.ts';
import { runtime } from '../api/runtime.ts';
import { dashboardApp } from './app.ts';
import { guarded, openDashboard, type DashboardOptions } from './context.ts';

export interface ServeOptions extends DashboardOptions {
  host: string;
  port: number;
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

const WILDCARD = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

/** Where a browser finds the server: for a wildcard host, which opens nothing, this machine's first outside IPv4 address (or its name). */
export function whereToOpen(host: string, port: number): string {
  if (!WILDCARD.has(host)) return `on http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const address = Object.values(os.networkInterfaces()).flat().find((a) => a?.family === 'IPv4' && !a.internal)?.address;
  return `on every interface, port ${port}: http://${address ?? os.hostname()}:${port}`;
}

/** Serves until a signal; resolves once closed. */
export async function serveDashboard(options: ServeOptions, say: (line: string) => void): Promise<void> {
  if (!isLoopback(options.host) && !guarded(await runtime())) {
    throw new UsageError(`refusing to serve the dashboard on ${options.host} without a password: set dashboard_password (or RAKIT_DASHBOARD_PASSWORD) or dashboard_token (RAKIT_DASHBOARD_TOKEN), or serve it on 127.0.0.1`);
  }
  const dashboard = await openDashboard(options);
  try {
    const server = <Server>serve({ fetch: dashboardApp(dashboard).fetch, hostname: options.host, port: options.port });
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => {
      throw new UsageError(`cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`);
    })]);
    say(`Dashboard ${whereToOpen(options.host, options.port)}${options.readOnly ? ' (read-only)' : ''}: press Ctrl+C to stop.`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    server.close();
    server.closeAllConnections();
  } finally {
    await dashboard.close();
  }
}
