// Reading S3 GET answers: the whole body with its length checked, and the Content-Range header.
import { Readable } from 'node:stream';
import { FsError } from '../core/errors.js';
import { concatShared } from '../core/shared-memory.js';

/** Bodies smaller than this (one socket read) are returned as they came. */
const SHARE_ABOVE = 64 * 1024;

/** A GET body that ended early or broke off after the headers; the GET is simply repeated. */
export class BrokenBodyError extends Error {
  readonly code = 'EBROKENBODY';
}

/**
 * Reads a GET body completely and checks its length. Waits for 'end' but also for 'error',
 * 'aborted' and 'close': a body that breaks after the headers (ECONNRESET "aborted") never emits
 * 'end', and code waiting only for it hangs (README "Pitfalls"). A short body is an error too.
 */
export function readBody(body: unknown, expected: number | undefined, idleTimeoutMs: number, into?: Buffer): Promise<Buffer> {
  if (!(body instanceof Readable)) {
    if (body === undefined && expected === 0) return Promise.resolve(Buffer.alloc(0));
    return Promise.reject(new FsError('EIO', 'S3 GET returned no stream'));
  }
  return new Promise((resolve, reject) => {
    // A body of announced length that fits the caller's buffer is copied into it as it arrives.
    const target = into !== undefined && expected !== undefined && expected <= into.length ? into : undefined;
    const parts: Buffer[] = [];
    let received = 0;
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      body.off('data', onData);
      if (err !== undefined) {
        body.destroy();
        reject(err);
      } else {
        if (target !== undefined) resolve(target.subarray(0, received));
        // In shared memory, so the chunk layer can verify the bytes' hash on a worker without a copy.
        else resolve(parts.length === 1 && parts[0] !== undefined && received < SHARE_ABOVE ? parts[0] : concatShared(parts, received));
      }
    };
    const armIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(new BrokenBodyError(`body stalled for ${idleTimeoutMs} ms after ${received} bytes`)), idleTimeoutMs);
    };
    const onData = (chunk: Buffer): void => {
      if (expected !== undefined && received + chunk.length > expected) {
        finish(new BrokenBodyError(`body longer than the ${expected} bytes announced`));
        return;
      }
      if (target !== undefined) chunk.copy(target, received);
      else parts.push(chunk);
      received += chunk.length;
      armIdle();
    };
    body.on('data', onData);
    body.once('end', () => {
      if (expected !== undefined && received !== expected) finish(new BrokenBodyError(`body ended after ${received} of ${expected} bytes`));
      else finish();
    });
    // on(), not once(): an 'error' emitted after we gave up must not become an uncaught exception.
    body.on('error', (err: Error) => finish(new BrokenBodyError(`body broke off after ${received} bytes: ${err.message}`, { cause: err })));
    body.once('aborted', () => finish(new BrokenBodyError(`body aborted after ${received} bytes`)));
    // 'close' follows every 'end': build the error (and its stack) only when the body did not end.
    body.once('close', () => settled || finish(new BrokenBodyError(`body closed after ${received} bytes`)));
    armIdle();
  });
}

export function destroyBody(body: unknown): void {
  if (body instanceof Readable) body.destroy();
}

/** "bytes 0-99/1234" → numbers; undefined when absent (a 200 answer). "*" size → undefined. */
export function parseContentRange(header: string | undefined): { start: number; end: number; size?: number } | undefined {
  const match = header === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  if (match === null) return undefined;
  const size = match[3] === '*' ? undefined : Number(match[3]);
  return { start: Number(match[1]), end: Number(match[2]), ...(size === undefined ? {} : { size }) };
}
