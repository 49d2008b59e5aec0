import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { AuthError } from './errors.ts';

export const SESSION_COOKIE = 'fairway_session';
const TOKEN_FILE = 'ui-token';

/** Reads `<stateDir>/ui-token`, creating it (32 random bytes, hex, mode 0600) on first start. */
export function ensureToken(stateDir: string): string {
  const file = join(stateDir, TOKEN_FILE);
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(token)) {
      chmodSync(file, 0o600);
      return token;
    }
  }
  mkdirSync(stateDir, { recursive: true });
  const token = randomBytes(32).toString('hex');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}

const LOOPBACK_ADDRESSES = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
/** Host names of this machine's loopback interface: a local UI answers to these by default. */
export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '::1'];

/** The host name of a `Host` header (`example.com:3000` → `example.com`, `[::1]:3000` → `::1`), lowercased. */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return colon > 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

export const isLoopbackAddress = (address: string | undefined) =>
  address !== undefined && (LOOPBACK_ADDRESSES.has(address) || address.startsWith('127.'));

/**
 * True when the request's host (from the Host header) names this machine. Checked before trusting a browser session, so a page
 * on another origin that rebinds its DNS name to 127.0.0.1 cannot obtain one.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  return host !== undefined && host !== '' && LOOPBACK_HOSTS.includes(hostName(host));
}

const safeEqual = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Browser sessions (cookie id → CSRF token), in memory: a restart signs every browser out. */
export class Sessions {
  readonly #csrf = new Map<string, string>();

  /** Starts a session: sets the HttpOnly cookie and returns the CSRF token the page must echo. */
  open(c: Context): string {
    const id = randomBytes(24).toString('hex');
    const csrf = randomBytes(24).toString('hex');
    if (this.#csrf.size > 10_000) this.#csrf.clear();
    this.#csrf.set(id, csrf);
    setCookie(c, SESSION_COOKIE, id, { httpOnly: true, sameSite: 'Strict', path: '/' });
    return csrf;
  }

  matches(id: string | undefined, csrf: string | undefined): boolean {
    if (!id || !csrf) return false;
    const expected = this.#csrf.get(id);
    return expected !== undefined && safeEqual(expected, csrf);
  }
}

/** Guards launch and cancel: `Authorization: Bearer <token>`, or a loopback session cookie plus `X-CSRF-Token`. */
export function requireToken(token: string, sessions: Sessions): MiddlewareHandler {
  return async (c, next) => {
    const auth = c.req.header('authorization');
    if (auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      if (!m || !safeEqual(m[1]!, token)) throw new AuthError(401, 'The bearer token is wrong.');
      return next();
    }
    const cookie = getCookie(c, SESSION_COOKIE);
    if (!cookie) {
      throw new AuthError(
        401,
        `This action needs the UI token: send 'Authorization: Bearer <token>' (printed by 'fairway ui', stored in <state-dir>/ui-token) or use the UI from this machine.`,
      );
    }
    if (!isLoopbackHost(new URL(c.req.url).host))
      throw new AuthError(403, 'Browser sessions are accepted on localhost only.');
    if (!sessions.matches(cookie, c.req.header('x-csrf-token'))) {
      throw new AuthError(403, 'Missing or stale X-CSRF-Token; reload the page and try again.');
    }
    return next();
  };
}
