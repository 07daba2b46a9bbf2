// One real server per WebDAV method test file: starts `serve` on a fresh data folder before the
// file's tests and stops it after, and gives them short request helpers.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type ServerProcess } from './server-process.js';

export interface DavTestServer {
  url(path: string): string;
  dav(method: string, path: string, init?: { headers?: Record<string, string>; body?: string | Buffer }): Promise<Response>;
}

export function useDavServer(): DavTestServer {
  let server: ServerProcess;
  before(async () => {
    server = await startServe(['--data', mkdtempSync(join(tmpdir(), 'davfs-methods-'))]);
  });
  after(async () => {
    assert.equal(await server.stop(), 0, 'clean exit on SIGTERM');
  });
  const url = (p: string) => new URL(p, server.url).toString();
  return {
    url,
    dav: (method, p, init = {}) => server.fetch(url(p), { method, headers: init.headers, body: init.body }),
  };
}
