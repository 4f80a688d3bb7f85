/**
 * Cross-site request forgery: every POST must come from the dashboard's own origin (hono/csrf
 * checks Origin and Sec-Fetch-Site) and carry the session's form token in `_csrf`. The login
 * form has no session yet and is checked by origin only; a request with a valid bearer token
 * carries no cookie a forger could borrow and needs no form token. In read-only mode every
 * POST but signing in and out is refused.
 */
import type { Context, Next } from 'hono';
import { csrf } from 'hono/csrf';
import type { Dashboard, DashboardEnv } from './context.ts';
import type { Sessions } from './session.ts';

type Ctx = Context<DashboardEnv>;

/** Same host as the request names (a proxy in front may change the scheme, never the host). */
const originCheck = csrf({
  origin: (origin, c) => URL.canParse(origin) && new URL(origin).host === (c.req.header('x-forwarded-host') ?? c.req.header('host')),
});

export function protectPosts(d: Dashboard, sessions: Sessions) {
  return async (c: Ctx, next: Next) => {
    if (c.req.method !== 'POST') return next();
    const path = c.req.path.slice(d.basePath.length);
    const session = path === '/login' || path === '/logout';
    if (d.readOnly && !session) return c.text('The dashboard is read-only.', 403);
    await originCheck(c, async () => undefined); // throws a 403 for a foreign origin
    const sid = c.get('sid');
    if (path !== '/login' && sid !== null && !sessions.formTokenMatches(sid, (await c.req.parseBody())._csrf)) {
      return c.text('The form has expired or did not come from this dashboard: reload the page and try again.', 403);
    }
    return next();
  };
}
