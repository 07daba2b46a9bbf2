// The WebDAV front's entry: decodes the request path, dispatches by method through one table,
// and turns every error into a status with a short reason (never a stack, never a crash).
import type { Middleware } from 'koa';
import { FsError } from '../core/errors.js';
import { normalizePath } from '../core/paths.js';
import type { Vfs } from '../vfs/vfs.js';
import type { DavOptions, MethodHandler } from './context.js';
import { handleGet } from './methods/get.js';
import { handlePut } from './methods/put.js';
import { httpErrorOf } from './status.js';

const METHODS: Record<string, MethodHandler> = {
  GET: handleGet,
  HEAD: handleGet,
  PUT: handlePut,
};

export interface DavLogger {
  error(obj: object, msg: string): void;
}

export function davMiddleware(vfs: Vfs, options: DavOptions, log: DavLogger): Middleware {
  return async (ctx) => {
    const handler = METHODS[ctx.method];
    try {
      if (!handler) {
        ctx.status = 405;
        ctx.set('Allow', Object.keys(METHODS).join(', '));
        return;
      }
      await handler({ ctx, vfs, path: decodePath(ctx.path), options });
    } catch (err) {
      const { status, message } = httpErrorOf(err);
      if (status >= 500) log.error({ err, method: ctx.method, path: ctx.path }, 'request failed');
      ctx.status = status;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `${message}\n`;
    }
  };
}

/** Percent-decodes the URL path; a malformed escape is a 400, not a crash. */
function decodePath(raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new FsError('EINVAL', 'malformed percent-encoding in the path');
  }
  return normalizePath(decoded);
}
