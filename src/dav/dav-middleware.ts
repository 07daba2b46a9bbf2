// The WebDAV front's entry: decodes the request path, evaluates the If header, dispatches by
// method through one table, and turns every error into a status with a short reason (never a
// stack, never a crash).
import type { Context, Middleware } from 'koa';
import type { DavOptions, DavRequest, DavSession } from './context.js';
import { DavError } from './dav-error.js';
import { pathFromUrlPath } from './href.js';
import { handleCopyMove } from './methods/copy-move.js';
import { handleDelete } from './methods/delete.js';
import { handleGet } from './methods/get.js';
import { handleLock, handleUnlock } from './methods/lock.js';
import { handleMkcol } from './methods/mkcol.js';
import { ALLOWED_METHODS, handleOptions } from './methods/options.js';
import { handlePatch } from './methods/patch.js';
import { handlePropfind } from './methods/propfind.js';
import { handleProppatch } from './methods/proppatch.js';
import { handlePut } from './methods/put.js';
import { evaluateIfHeader } from './preconditions.js';
import { closeIfBodyUnread } from './request-body.js';
import { errorResponse } from './status.js';

/** Each handler gets the request and the lock tokens the If header submitted. */
type Handler = (req: DavRequest, tokens: string[]) => Promise<void>;

const METHODS: Record<string, Handler> = {
  OPTIONS: handleOptions,
  GET: handleGet,
  HEAD: handleGet,
  PUT: handlePut,
  PATCH: handlePatch,
  DELETE: handleDelete,
  MKCOL: handleMkcol,
  COPY: handleCopyMove,
  MOVE: handleCopyMove,
  PROPFIND: handlePropfind,
  PROPPATCH: handleProppatch,
  LOCK: handleLock,
  UNLOCK: handleUnlock,
};

export interface DavLogger {
  error(obj: object, msg: string): void;
}

/** `sessionFor` gives each request the file system and locks of whoever sent it. */
export function davMiddleware(sessionFor: (ctx: Context) => Promise<DavSession>, options: DavOptions, log: DavLogger): Middleware {
  return async (ctx) => {
    try {
      const handler = METHODS[ctx.method];
      if (!handler) {
        ctx.status = 405;
        ctx.set('Allow', ALLOWED_METHODS);
        return;
      }
      // A fragment is never part of a request target (RFC 9110 §7.1); acting on the path without it
      // would, e.g., DELETE a collection the client did not name (litmus delete_fragment).
      if (ctx.url.includes('#')) throw new DavError(400, 'the request URI contains a fragment');
      const req: DavRequest = { ...(await sessionFor(ctx)), options, ctx, path: pathFromUrlPath(ctx.path) };
      const tokens = ctx.method === 'OPTIONS' ? [] : await evaluateIfHeader(req);
      await handler(req, tokens);
    } catch (err) {
      const res = errorResponse(err);
      if (res.status >= 500) log.error({ err, method: ctx.method, path: ctx.path }, 'request failed');
      closeIfBodyUnread(ctx);
      ctx.status = res.status;
      ctx.type = res.type;
      ctx.body = res.body;
    }
  };
}
