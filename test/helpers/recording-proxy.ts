// A recording HTTP proxy for tests of HTTP clients: forwards every request to a real server
// (keeping the Host header, so absolute URLs in Destination and If headers still match) and
// records method, path, headers and status, so a test can count what really went over the wire.
import { createServer, request, Agent, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  status: number;
}

export interface RecordingProxy {
  url: string;
  requests: RecordedRequest[];
  /** Requests with this method (and, when given, this path) so far. */
  count(method: string, path?: string): number;
  clear(): void;
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const entry: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, status: 0 };
    const up = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      entry.status = answer.statusCode ?? 0;
      requests.push(entry);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.on('error', () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    count: (method, path) => requests.filter((r) => r.method === method && (path === undefined || r.path === path)).length,
    clear: () => void requests.splice(0),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
