/**
 * The dashboard for an app that runs its own Node HTTP server: `dashboardHandler()` is a Node
 * request listener (`http.createServer(dashboardHandler())`, or mounted under a path with
 * `basePath`). Its code loads when a handler is made, so importing rakit costs nothing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DashboardOptions } from './context.ts';

export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Closes what the dashboard opened (the scheduler's store); the app's runtime stays. */
  close(): Promise<void>;
}

export function dashboardHandler(options: DashboardOptions = {}): DashboardHandler {
  const loading = import('./app.ts').then(({ dashboardListener }) => dashboardListener(options));
  loading.catch(() => undefined);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    loading.then(({ listener }) => listener(req, res), (error: unknown) => {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`The dashboard could not start: ${(error as Error).message}\n`);
    });
  };
  return Object.assign(handler, { close: async () => (await loading.catch(() => null))?.dashboard.close() });
}
