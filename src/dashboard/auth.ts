/**
 * Who may use the dashboard. Without a password or token only loopback clients are served.
 * With a password: a login form starts a signed session; every wrong login gets one message,
 * and attempts are rate limited per client. With a token: `Authorization: Bearer <token>` is
 * accepted on every route (for /metrics scrapers and scripts), and the login form takes it too.
 * A page asked for before signing in is where the sign-in leads (`next`, a path of the dashboard).
 */
import type { Context, Hono, Next } from 'hono';
import { html } from 'hono/html';
import { rateLimiter } from 'hono-rate-limiter';
import { guarded, type Dashboard, type DashboardEnv } from './context.ts';
import { link, page } from './layout.ts';
import { safeEqual, type Sessions } from './session.ts';

type Ctx = Context<DashboardEnv>;

export const WRONG_LOGIN = 'That password is not right.';
export const LOGIN_LIMIT = { windowMs: 60_000, limit: 5 };

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** The client's address as the socket has it (a proxy in front makes it the proxy's). */
const clientOf = (c: Ctx) => c.env.incoming.socket.remoteAddress ?? '';

/**
 * The page to land on after signing in: `next` when it is a path of this dashboard (one leading
 * `/`, no backslash, space or control character, so no browser reads it as another host), else `/`.
 */
export function nextPage(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\\\s\p{Cc}]*$/u.test(next) ? next : '/';
}

/** A secret the visitor gave: the password, or the token. */
function knownSecret(d: Dashboard, given: string): boolean {
  const { dashboard_password: password, dashboard_token: token } = d.config;
  return (password !== '' && safeEqual(given, password)) || (token !== '' && safeEqual(given, token));
}

/** Sets `sid` (and `csrfToken`) for the request, or answers it: login redirect, 401, 403. */
export function authenticate(d: Dashboard, sessions: Sessions) {
  return async (c: Ctx, next: Next) => {
    c.set('csrfToken', '');
    c.set('sid', null);
    if (!guarded(d)) {
      // A proxy on this machine would make every client look local.
      const proxied = c.req.header('x-forwarded-for') !== undefined || c.req.header('forwarded') !== undefined;
      if (!LOOPBACK.test(clientOf(c)) || proxied) return c.text('The dashboard has no password: it serves this machine only (set dashboard_password).', 403);
      // A scrape is no visitor: no session, no cookie (a scraper would pile up one per scrape).
      if (c.req.path.slice(d.basePath.length) === '/metrics') return next();
      const now = d.clock.now();
      const sid = (await sessions.read(c, now)) ?? (await sessions.start(c, now));
      c.set('sid', sid);
      c.set('csrfToken', sessions.formToken(sid));
      return next();
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (bearer !== undefined && d.config.dashboard_token !== '' && safeEqual(bearer, d.config.dashboard_token)) return next();
    const sid = await sessions.read(c, d.clock.now());
    if (sid) {
      c.set('sid', sid);
      c.set('csrfToken', sessions.formToken(sid));
      return next();
    }
    const path = c.req.path.slice(d.basePath.length);
    if (path === '/login' || path === '/assets/dashboard.css') return next();
    if (c.req.method === 'GET' && !path.startsWith('/api/') && path !== '/metrics') {
      const url = new URL(c.req.url);
      const wanted = url.pathname.slice(d.basePath.length) + url.search;
      return c.redirect(link(d, wanted === '/' || wanted === '' ? '/login' : `/login?next=${encodeURIComponent(wanted)}`), 303);
    }
    return c.text('Sign in first (or send Authorization: Bearer <token>).', 401);
  };
}

/** GET and POST /login, POST /logout. */
export function loginRoutes(app: Hono<DashboardEnv>, d: Dashboard, sessions: Sessions): void {
  const form = (c: Ctx, message: string, status: 200 | 401 | 429, next: string) => page(c, d, 'Sign in', html`
    ${message ? html`<p class="error" role="alert">${message}</p>` : ''}
    <form method="post" action="${link(d, '/login')}" class="login">
      <input type="hidden" name="next" value="${next}">
      <label>Password <input type="password" name="password" autocomplete="current-password" autofocus required></label>
      <button>Sign in</button>
    </form>`, status);

  app.get('/login', (c) => {
    const next = nextPage(c.req.query('next'));
    return c.get('sid') ? c.redirect(link(d, next), 303) : form(c, '', 200, next);
  });
  app.post('/login', rateLimiter<DashboardEnv>({
    ...LOGIN_LIMIT,
    keyGenerator: clientOf,
    // Successful logins do not count: only wrong ones use up the allowance.
    skipSuccessfulRequests: true,
    handler: async (c) => form(c, 'Too many attempts: wait a minute and try again.', 429, nextPage((await c.req.parseBody()).next)),
  }), async (c) => {
    const body = await c.req.parseBody();
    const next = nextPage(body.next);
    if (!guarded(d) || typeof body.password !== 'string' || !knownSecret(d, body.password)) return form(c, WRONG_LOGIN, 401, next);
    await sessions.start(c, d.clock.now());
    return c.redirect(link(d, next), 303);
  });
  app.post('/logout', (c) => {
    sessions.end(c);
    return c.redirect(link(d, '/login'), 303);
  });
}
