// Operator endpoints in front of the WebDAV tree: GET /healthz (liveness) and
// GET /.well-known/davfs-bridge/status (cache, store traffic and job figures as JSON).
//
// RFC 8615 reserves /.well-known/ for such site-wide metadata, so the status path cannot shadow a
// user's file. /healthz is DESIGN.md's operator path; it does shadow a root entry of that name,
// so every method on it is answered here (a PUT there would create a file no GET could read).
import type { Middleware } from 'koa';

export const STATUS_PATH = '/.well-known/davfs-bridge/status';
export const HEALTH_PATH = '/healthz';

/** `status` returns the JSON body of the status endpoint; it is called once per request. */
export function statusMiddleware(status?: () => object): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== STATUS_PATH && ctx.path !== HEALTH_PATH) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      return;
    }
    // Figures change from one request to the next; a cached copy would mislead.
    ctx.set('Cache-Control', 'no-store');
    if (ctx.path === HEALTH_PATH) {
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'ok';
      return;
    }
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = `${JSON.stringify(status?.() ?? {}, null, 2)}\n`;
  };
}
