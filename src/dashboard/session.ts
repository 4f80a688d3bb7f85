/**
 * The visitor's session: a random id in a signed cookie (HttpOnly, SameSite=Strict) that lapses
 * after SESSION_MS, and the per-session form token every POST must carry. With a password or a
 * token configured the signing key is derived from them, so sessions hold across restarts and
 * processes and end when the password changes; without either, a key of this process serves.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import type { JobConfig } from '../infra/config.ts';
import type { DashboardEnv } from './context.ts';

export const SESSION_COOKIE = 'rakit_session';
export const SESSION_MS = 12 * 3_600_000;

export class Sessions {
  private readonly secret: Buffer;

  constructor(config: Pick<JobConfig, 'dashboard_password' | 'dashboard_token'>, private readonly path: string) {
    const { dashboard_password: password, dashboard_token: token } = config;
    this.secret = password || token
      ? createHash('sha256').update(`rakit-dashboard\0${password}\0${token}`).digest()
      : randomBytes(32);
  }

  /** The session id of the request's cookie, when it is signed by us and not lapsed. */
  async read(c: Context<DashboardEnv>, now: number): Promise<string | null> {
    const value = await getSignedCookie(c, this.secret, SESSION_COOKIE);
    const match = typeof value === 'string' ? /^([0-9a-f]{32})\.(\d+)$/.exec(value) : null;
    return match && now - Number(match[2]) < SESSION_MS ? match[1]! : null;
  }

  /** Starts a new session (a fresh id, so a login never keeps an id chosen before it). */
  async start(c: Context<DashboardEnv>, now: number): Promise<string> {
    const sid = randomBytes(16).toString('hex');
    await setSignedCookie(c, SESSION_COOKIE, `${sid}.${now}`, this.secret, {
      httpOnly: true, sameSite: 'Strict', path: this.path || '/', maxAge: SESSION_MS / 1000,
      secure: new URL(c.req.url).protocol === 'https:',
    });
    return sid;
  }

  end(c: Context<DashboardEnv>): void {
    deleteCookie(c, SESSION_COOKIE, { path: this.path || '/' });
  }

  /** The form token of a session. */
  formToken(sid: string): string {
    return createHmac('sha256', this.secret).update(`form\0${sid}`).digest('hex');
  }

  /** Whether `given` is the form token of `sid` (in constant time). */
  formTokenMatches(sid: string, given: unknown): boolean {
    return typeof given === 'string' && safeEqual(given, this.formToken(sid));
  }
}

/** String equality in time that does not depend on where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}
