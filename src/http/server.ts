// The HTTP(S) listener: a Koa app with /healthz, authentication, the operator status endpoint
// and the WebDAV front, in that order.
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import type { Logger } from '../core/log.js';
import type { DavOptions } from '../dav/context.js';
import { davMiddleware } from '../dav/dav-middleware.js';
import { authenticate, type AuthSettings } from './authenticate.js';
import { sessionResolver, type Tree } from './session.js';
import { statusMiddleware } from './status.js';
import type { TlsMaterial } from './tls.js';

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export interface ServerOptions {
  tree: Tree;
  dav: DavOptions;
  /** Undefined: no authentication, every request sees the whole tree (behind an authenticating proxy only). */
  auth: AuthSettings | undefined;
  tls: TlsMaterial | undefined;
  listen: { host: string; port: number };
  /** Supplies the JSON of GET /.well-known/davfs-bridge/status (an empty object without it). */
  status?: () => object;
}

export async function startServer(opts: ServerOptions, log: Logger): Promise<RunningServer> {
  const app = new Koa();
  // Koa logs every uncaught error with its stack by default; the dav middleware already handled
  // and logged what matters.
  app.silent = true;
  if (opts.auth) app.use(authenticate(opts.auth));
  app.use(statusMiddleware(opts.status));
  app.use(davMiddleware(sessionResolver(opts.tree, opts.auth?.auth), opts.dav, log));
  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, app.callback()) : createHttpServer(app.callback());
  // Large uploads from slow clients must not be cut by Node's default 5-minute request timeout.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${addr.port}/`,
    server,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
