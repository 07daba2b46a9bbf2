// Authentication of every request (koa-passport with passport-http's Basic and Digest strategies
// and passport-http-bearer), in front of the WebDAV tree. Success puts the user in
// ctx.state.user; failure is 401 with the challenges this server accepts, or 429 with Retry-After
// once an address or user name has failed too often (auth/login-throttle.ts).
//
// Unauthenticated requests allowed through (ctx.state.user stays undefined):
//   - OPTIONS without credentials: Windows' WebClient probes `/` with OPTIONS before it sends any
//     credentials and gives up on a 401 there ("the folder you entered does not appear to be valid");
//   - GET /healthz, for load balancers.
import type { Context, Middleware } from 'koa';
import koaPassport from 'koa-passport';
import { BasicStrategy, DigestStrategy } from 'passport-http';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import type { Authenticator, User } from '../auth/authenticator.js';
import type { DigestNonces } from '../auth/digest-nonce.js';
import type { LoginThrottle } from '../auth/login-throttle.js';
import { closeIfBodyUnread } from '../dav/request-body.js';
import { HEALTH_PATH } from './status.js';

export interface AuthSettings {
  auth: Authenticator;
  throttle: LoginThrottle;
  realm: string;
  /** Set when Digest is enabled (config auth.digest): its nonces. */
  nonces: DigestNonces | undefined;
  log: { info(obj: object, msg: string): void };
}

type Done = (err: unknown, user?: User | false) => void;

export function authenticate(s: AuthSettings): Middleware {
  const passport = new koaPassport.KoaPassport();
  const settle = (found: Promise<User | undefined>, done: Done) => void found.then((u) => done(null, u ?? false), done);
  passport.use(new BasicStrategy({ realm: s.realm }, (name, password, done: Done) => settle(s.auth.byPassword(name, password), done)));
  passport.use(new BearerStrategy((token, done: Done) => settle(s.auth.byToken(token), done)));
  const strategies = ['basic', 'bearer'];
  if (s.nonces) {
    const nonces = s.nonces;
    passport.use(
      new DigestStrategy(
        { realm: s.realm, qop: 'auth' },
        // passport-http takes the stored HA1 as { ha1 } in place of a password (RFC 7616 §3.4.2).
        (name, done) =>
          void s.auth.digestSecret(name).then((sec) => (sec ? done(null, sec.user, { ha1: sec.ha1 }) : done(null, false)), done),
        (params, done) => done(null, nonces.check(params.nonce) === 'valid'),
      ),
    );
    strategies.unshift('digest');
  }

  return async (ctx, next) => {
    const header = ctx.get('Authorization');
    if (!header && (ctx.method === 'OPTIONS' || ctx.path === HEALTH_PATH)) return next();
    const name = claimedName(header);
    const waitMs = await s.throttle.retryAfterMs(ctx.ip, name);
    if (waitMs > 0) return tooManyAttempts(ctx, waitMs);
    if (!header) return challenge(ctx, s, false);
    // A Digest answer to a nonce we issued that has aged out: ask again with stale=true, which
    // clients answer with the same credentials instead of prompting (RFC 7616 §3.3).
    const nonce = s.nonces && /^Digest\s/i.test(header) ? /nonce="([^"]*)"/.exec(header)?.[1] : undefined;
    if (nonce !== undefined && s.nonces!.check(nonce) === 'stale') return challenge(ctx, s, true);

    let user: User | false = false;
    await passport.authenticate(strategies, { session: false }, (err: unknown, found: User | false) => {
      if (err) throw err;
      user = found;
    })(ctx, next);
    if (user === false) {
      const wait = await s.throttle.failed(ctx.ip, name);
      // Names are logged (an operator needs to see an attack), passwords and tokens never.
      s.log.info({ user: name, address: ctx.ip }, 'failed login');
      return wait > 0 ? tooManyAttempts(ctx, wait) : challenge(ctx, s, false);
    }
    ctx.state.user = user;
    if (name !== undefined) await s.throttle.succeeded(name);
    await next();
  };
}

/** The user name a Basic or Digest header claims (before it is checked), for throttling by name. */
function claimedName(header: string): string | undefined {
  const basic = /^Basic\s+(\S+)/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon > 0 ? decoded.slice(0, colon) : undefined;
  }
  return /^Digest\s/i.test(header) ? /username="([^"]*)"/.exec(header)?.[1] : undefined;
}

/** 401 with a challenge per accepted scheme (RFC 9110 §11.6.1); Digest first, for Windows' sake. */
function challenge(ctx: Context, s: AuthSettings, stale: boolean): void {
  const realm = s.realm.replace(/["\\]/g, '');
  const challenges = [`Basic realm="${realm}", charset="UTF-8"`];
  if (s.nonces) challenges.unshift(`Digest realm="${realm}", qop="auth", algorithm=MD5, nonce="${s.nonces.issue()}"${stale ? ', stale=true' : ''}`);
  refuse(ctx, 401, 'authentication required');
  ctx.set('WWW-Authenticate', challenges);
}

function tooManyAttempts(ctx: Context, waitMs: number): void {
  refuse(ctx, 429, 'too many failed logins; try again later');
  ctx.set('Retry-After', String(Math.max(1, Math.ceil(waitMs / 1000))));
}

function refuse(ctx: Context, status: number, message: string): void {
  // The body of a refused upload is never read.
  closeIfBodyUnread(ctx);
  ctx.status = status;
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = `${message}\n`;
}
