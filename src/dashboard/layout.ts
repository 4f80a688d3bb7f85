/**
 * The frame of every page (head, navigation, the message left by the last action) and the small
 * pieces pages share: links under the mount path, action forms that carry the form token and
 * vanish in read-only mode, and the redirect that ends every action.
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { guarded, type Dashboard, type DashboardEnv } from './context.ts';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;
type Ctx = Context<DashboardEnv>;

const NAV = [['/', 'Overview'], ['/jobs', 'Jobs'], ['/failed', 'Failed'], ['/workers', 'Workers'], ['/batches', 'Batches'], ['/locks', 'Locks'], ['/schedule', 'Schedule']] as const;
const FLASH = 'rakit_flash';
/** The tab's icon, inline (the Content-Security-Policy allows data: images), so no /favicon.ico is asked for. */
const FAVICON = `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1565c0"/><path d="M4 4h8M4 8h8M4 12h5" stroke="#fff" stroke-width="2"/></svg>')}`;

/** A path of the dashboard as the browser sees it (under the mount path). */
export function link(d: Dashboard, path: string): string {
  return `${d.basePath}${path}`;
}

/** The whole page: head, navigation, the last action's message, then `body`. */
export function page(c: Ctx, d: Dashboard, title: string, body: Html, status: 200 | 401 | 403 | 404 | 409 | 429 = 200) {
  const flash = getCookie(c, FLASH);
  if (flash) deleteCookie(c, FLASH, { path: d.basePath || '/' });
  const here = c.req.path.slice(d.basePath.length) || '/';
  const section = NAV.find(([path]) => path === '/' ? here === '/' : here.startsWith(path))?.[0];
  // A visitor who has not signed in sees neither the navigation nor which store this is.
  const visitor = guarded(d) && !c.get('sid');
  return c.html(html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · rakit jobs</title>
<link rel="stylesheet" href="${link(d, '/assets/dashboard.css')}">
<link rel="icon" href="${FAVICON}">
</head>
<body>
<header class="top">
  <a class="brand" href="${link(d, '/')}">rakit jobs</a>
  ${visitor ? '' : html`<nav>${NAV.map(([path, label]) => html`<a href="${link(d, path)}" class="${path === section ? 'active' : ''}">${label}</a>`)}</nav>
  <span class="meta">${d.driver.description}${d.readOnly ? html` <span class="badge">read-only</span>` : ''}</span>`}
  ${guarded(d) && !visitor ? html`<form method="post" action="${link(d, '/logout')}" class="inline"><input type="hidden" name="_csrf" value="${c.get('csrfToken')}"><button class="link">Sign out</button></form>` : ''}
</header>
<main>
${flash ? html`<p class="flash" role="status">${flash}</p>` : ''}
<h1>${title}</h1>
${body}
</main>
</body>
</html>`, status);
}

/** A one-button form that POSTs to `path` with `fields`; nothing in read-only mode. */
export function action(c: Ctx, d: Dashboard, path: string, label: string, fields: Record<string, string> = {}, style: 'danger' | '' = ''): Html | '' {
  if (d.readOnly) return '';
  return html`<form method="post" action="${link(d, path)}" class="inline">${hidden(c, fields)}<button class="${style}">${label}</button></form>`;
}

/** The hidden fields of a form: `fields` and the form token. */
export function hidden(c: Ctx, fields: Record<string, string> = {}): Html {
  return html`${Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}<input type="hidden" name="_csrf" value="${c.get('csrfToken')}">`;
}

/** Ends an action: the message for the next page, and a redirect (303, so a reload does not POST again). */
export function done(c: Ctx, d: Dashboard, to: string, message: string) {
  setCookie(c, FLASH, message, { path: d.basePath || '/', httpOnly: true, sameSite: 'Strict' });
  return c.redirect(link(d, to), 303);
}

/** A table, or `empty` when there are no rows. */
export function table(headers: string[], rows: Html[], empty: string): Html {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table><thead><tr>${headers.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`;
}
