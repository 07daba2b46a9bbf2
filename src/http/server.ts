// The HTTP listener: a Koa app with the operator endpoints (status.ts) in front of the WebDAV front.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import type { Logger } from '../core/log.js';
import { davMiddleware } from '../dav/dav-middleware.js';
import type { DavServices } from '../dav/context.js';
import { statusMiddleware } from './status.js';

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** `status` supplies the JSON of GET /.well-known/davfs-bridge/status (an empty object without it). */
export async function startServer(
  services: DavServices,
  listen: { host: string; port: number },
  log: Logger,
  status?: () => object,
): Promise<RunningServer> {
  const app = new Koa();
  // Koa logs every uncaught error with its stack by default; the dav middleware already handled
  // and logged what matters.
  app.silent = true;
  app.use(statusMiddleware(status));
  app.use(davMiddleware(services, log));
  const server = createServer(app.callback());
  // Large uploads from slow clients must not be cut by Node's default 5-minute request timeout.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/`,
    server,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
