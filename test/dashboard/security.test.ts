/**
 * Who may use the dashboard: loopback only without a password; with one, a login form, one
 * message for every wrong password, a rate limit on attempts, a signed HttpOnly SameSite=Strict
 * session that leads to the page asked for; a bearer token for scrapers; every POST needs the
 * page's origin and form token.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_LIMIT, WRONG_LOGIN, nextPage } from '../../src/dashboard/auth.ts';
import { makeApp, type TestApp } from '../helpers/app.ts';
import { SCREENSHOTS, launchBrowser, serve, type Served } from './harness.ts';

describe('dashboard security', () => {
  let scratch: string;
  let app: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'rakit-dash-'));
    app = makeApp({ database: `sqlite:${path.join(scratch, 'jobs.sqlite')}` });
    for (const args of [['job:table'], ['schedule:table'], ['migrate']]) expect((await app.rakit(args)).code).toBe(0);
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    app?.remove();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('refuses to serve off loopback without a password or token (exit 2)', async () => {
    const refused = await app.rakit(['job:dashboard', '--host', '0.0.0.0', '--port', '9']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('refusing to serve the dashboard on 0.0.0.0 without a password: set dashboard_password');
  });

  describe('with a password, off loopback', () => {
    let served: Served;
    beforeAll(async () => {
      served = await serve(app, ['--host', '0.0.0.0'], { RAKIT_DASHBOARD_PASSWORD: 'correct horse', RAKIT_DASHBOARD_TOKEN: 'scrape-token' });
    }, 60_000);
    afterAll(() => served?.stop());

    it('says where to open it when it listens on every interface', () => {
      expect(served.said).toMatch(/Dashboard on every interface, port \d+: http:\/\/[^\s]+:\d+/);
      expect(served.said).not.toContain('http://0.0.0.0');
    });

    it('sends every page to the login form, and signs in with the password into a strict HttpOnly session', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      for (const pathname of ['/', '/jobs', '/failed/1', '/locks']) {
        await page.goto(served.url + pathname);
        expect(new URL(page.url()).pathname).toBe('/login');
      }
      expect(await page.locator('nav').count()).toBe(0); // nothing about the store before signing in
      await page.screenshot({ path: path.join(SCREENSHOTS, 'login.png') });
      await page.fill('input[name=password]', 'correct horse');
      await page.click('form.login button');
      await page.waitForURL(`${served.url}/locks`); // the page last asked for
      await expect(page.locator('h1').innerText()).resolves.toBe('Locks');
      const [cookie] = await context.cookies();
      expect(cookie).toMatchObject({ name: 'rakit_session', httpOnly: true, sameSite: 'Strict' });
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.goto(`${served.url}/jobs`);
      expect(new URL(page.url()).pathname).toBe('/login');
      await context.close();
    });

    it('after signing in, leads to the page asked for, query included, and never off the dashboard', async () => {
      const page = await browser.newPage();
      await page.goto(`${served.url}/jobs?queue=low&state=scheduled`);
      expect(new URL(page.url()).pathname).toBe('/login');
      await page.fill('input[name=password]', 'correct horse');
      await page.click('form.login button');
      await page.waitForURL(`${served.url}/jobs?queue=low&state=scheduled`);
      await expect(page.locator('h1').innerText()).resolves.toBe('Jobs');
      await page.close();
      for (const next of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', '/\t/evil.example', 'jobs']) expect(nextPage(next)).toBe('/');
      const login = await fetch(`${served.url}/login`, {
        method: 'POST', redirect: 'manual', headers: { origin: served.url },
        body: new URLSearchParams({ password: 'correct horse', next: '//evil.example/x' }),
      });
      expect([login.status, login.headers.get('location')]).toEqual([303, '/']);
    });

    it('gives one message for any wrong password, and stops answering after too many', async () => {
      const page = await browser.newPage();
      await page.goto(`${served.url}/login`);
      const messages: string[] = [];
      for (const guess of [' ', 'correct', 'correct horse ', 'CORRECT HORSE', 'x'.repeat(500)].slice(0, LOGIN_LIMIT.limit)) {
        await page.fill('input[name=password]', guess);
        await page.click('form.login button');
        messages.push(await page.locator('[role=alert]').innerText());
      }
      expect(new Set(messages)).toEqual(new Set([WRONG_LOGIN]));
      await page.fill('input[name=password]', 'correct horse');
      await page.click('form.login button');
      await expect(page.locator('[role=alert]').innerText()).resolves.toContain('Too many attempts');
      expect(new URL(page.url()).pathname).toBe('/login');
    });

    it('accepts the token as Authorization: Bearer, and nothing else without a session', async () => {
      const bearer = await fetch(`${served.url}/metrics`, { headers: { authorization: 'Bearer scrape-token' } });
      expect(bearer.status).toBe(200);
      expect(await bearer.text()).toContain('# TYPE');
      expect((await fetch(`${served.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${served.url}/api/series`)).status).toBe(401);
      expect((await fetch(`${served.url}/queues/pause`, { method: 'POST', body: new URLSearchParams({ queue: 'q' }) })).status).toBe(401);
    });
  });

  describe('form protection', () => {
    let served: Served;
    beforeAll(async () => {
      served = await serve(app);
    }, 60_000);
    afterAll(() => served?.stop());

    it('sends no HSTS over plain HTTP, and its pages name an inline icon (no /favicon.ico asked for)', async () => {
      const response = await fetch(`${served.url}/`);
      expect(response.headers.get('strict-transport-security')).toBeNull();
      expect(await response.text()).toMatch(/<link rel="icon" href="data:image\/svg\+xml,/);
    });

    it('without a password, answers no request that came through a proxy', async () => {
      const proxied = await fetch(`${served.url}/`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
      expect(proxied.status).toBe(403);
      expect(await proxied.text()).toContain('set dashboard_password');
    });

    it('refuses a POST without the form token, or from another origin, and takes the page\'s own form', async () => {
      const page = await browser.newPage();
      await page.goto(`${served.url}/`);
      // From the page itself: same origin, with its session cookie.
      const post = (body: Record<string, string>) => page.evaluate(async ([url, fields]) => {
        const response = await fetch(url, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
        return response.status;
      }, [`${served.url}/queues/pause`, body] as const);
      const token = await page.locator('input[name=_csrf]').first().inputValue();
      expect(await post({ queue: 'emails' })).toBe(403);
      expect(await post({ queue: 'emails', _csrf: 'f'.repeat(64) })).toBe(403);
      const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
      const foreign = await fetch(`${served.url}/queues/pause`, {
        method: 'POST', redirect: 'manual', body: new URLSearchParams({ queue: 'emails', _csrf: token }),
        headers: { cookie, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
      });
      expect(foreign.status).toBe(403);
      expect(await post({ queue: 'emails', _csrf: token })).toBe(0); // an opaque redirect: accepted
      await page.goto(`${served.url}/`);
      await expect(page.locator('tr[data-queue="emails"]').innerText()).resolves.toContain('paused');
    });
  });
});
