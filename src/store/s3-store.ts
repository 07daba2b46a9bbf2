// An ObjectStore in an S3 bucket (AWS or S3-compatible: MinIO, Ceph, Swift's S3 API, s3rver); the only importer of the AWS SDK.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { BucketLocationConstraint, GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { FsError } from '../core/errors.js';
import type { GetOptions, ObjectInfo, ObjectStore } from './object-store.js';
import { backoffMs, withRetry } from './retry.js';
import { checkRange } from './store-keys.js';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ("" for the whole bucket); slashes around it are ignored. */
  prefix?: string;
  /** http(s) URL of an S3-compatible server; omitted for AWS itself. */
  endpoint?: string;
  /** Default us-east-1. */
  region?: string;
  /** Path-style URLs (http://host/bucket/key). Default: true when `endpoint` is set, false for AWS. */
  forcePathStyle?: boolean;
  /** Omitted: the SDK's standard chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile, instance role…). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per operation, the first included. Default 5. */
  tries?: number;
  /** First backoff between attempts; doubles each time. Default 200 ms. */
  retryBaseMs?: number;
  /** Connection setup limit. Default 5 s. */
  connectTimeoutMs?: number;
  /** A response (headers or body) silent this long is abandoned and retried. Default 30 s. */
  idleTimeoutMs?: number;
  /** Keys per ListObjectsV2 page (MaxKeys), at most 1,000. Tests lower it to paginate cheaply. */
  listPageSize?: number;
  /** Keys per DeleteObjects request, at most 1,000 (S3's limit). Tests lower it to batch cheaply. */
  deleteBatchSize?: number;
}

/** S3's limit on keys per DeleteObjects request and per ListObjectsV2 page. */
const S3_MAX_KEYS = 1000;
/** DeleteObjects requests in flight at once when deleting many keys (GC). */
const DELETE_PARALLEL = 4;

/** A GET body that ended early or broke off after the headers; the GET is simply repeated. */
class BrokenBodyError extends Error {
  readonly code = 'EBROKENBODY';
}

/** Network failures worth another attempt: the server may be restarting or the path flaky. */
const RETRYABLE_NET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'EBROKENBODY',
]);
/** S3 error codes that mean "try again later" whatever the status code says. */
const RETRYABLE_S3_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError', // the SDK's name for a connect or idle timeout
]);

interface ErrorFacts {
  status?: number;
  name?: string;
  code?: string;
}

/** Reads what classification needs from an SDK, network or our own error, without trusting its type. */
function factsOf(err: unknown): ErrorFacts {
  if (typeof err !== 'object' || err === null) return {};
  const facts: ErrorFacts = {};
  if ('$metadata' in err && typeof err.$metadata === 'object' && err.$metadata !== null) {
    const meta = err.$metadata;
    if ('httpStatusCode' in meta && typeof meta.httpStatusCode === 'number') facts.status = meta.httpStatusCode;
  }
  if ('name' in err && typeof err.name === 'string') facts.name = err.name;
  if ('Code' in err && typeof err.Code === 'string') facts.name = err.Code;
  if ('code' in err && typeof err.code === 'string') facts.code = err.code;
  return facts;
}

/** Throttling (429, 503 SlowDown), other 5xx except 501 (a permanent "not implemented"), resets, timeouts. */
export function isRetryableS3Error(err: unknown): boolean {
  if (err instanceof FsError) return false;
  const { status, name, code } = factsOf(err);
  if (code !== undefined && RETRYABLE_NET_CODES.has(code)) return true;
  if (name !== undefined && RETRYABLE_S3_NAMES.has(name)) return true;
  return status === 429 || (status !== undefined && status >= 500 && status !== 501);
}

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  /** '' or ends with '/'. */
  private readonly keyPrefix: string;
  private readonly where: string;
  private readonly tries: number;
  private readonly retryBaseMs: number;
  private readonly idleTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly accessKeyId: string | undefined;
  private readonly listPageSize: number;
  private readonly deleteBatchSize: number;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.keyPrefix = prefix === '' ? '' : `${prefix}/`;
    const region = options.region ?? 'us-east-1';
    this.where = options.endpoint === undefined ? `AWS S3 (${region})` : redactEndpoint(options.endpoint);
    this.description = `s3://${this.bucket}/${this.keyPrefix} at ${this.where}`;
    this.tries = options.tries ?? 5;
    this.retryBaseMs = options.retryBaseMs ?? 200;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.accessKeyId = options.credentials?.accessKeyId;
    this.listPageSize = Math.max(1, Math.min(S3_MAX_KEYS, options.listPageSize ?? S3_MAX_KEYS));
    this.deleteBatchSize = Math.max(1, Math.min(S3_MAX_KEYS, options.deleteBatchSize ?? S3_MAX_KEYS));
    this.client = new S3Client({
      region,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      // S3-compatible servers rarely have the wildcard DNS that virtual-host style needs.
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      // The default (WHEN_SUPPORTED) sends bodies as aws-chunked with a trailing CRC: s3rver stores
      // the framing inside the object and Swift answers 501 (README "Pitfalls"). We send plain
      // bodies with Content-MD5 instead, which every S3 implementation checks.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // One attempt per SDK call: withRetry() does all retrying, including of bodies that break
      // after the headers, which the SDK never retries; two layers would multiply the attempts.
      maxAttempts: 1,
      requestHandler: { connectionTimeout: this.connectTimeoutMs, socketTimeout: this.idleTimeoutMs },
    });
  }

  /**
   * HeadBucket, with one clear message per way it fails: missing bucket, refused credentials,
   * wrong region, unreachable endpoint. Connection failures are not retried here: an operator
   * starting the server wants the answer now.
   */
  async open(): Promise<void> {
    try {
      await withRetry(() => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })), {
        tries: Math.min(this.tries, 3),
        baseMs: this.retryBaseMs,
        isRetryable: (err) => isRetryableS3Error(err) && factsOf(err).status !== undefined,
      });
    } catch (err) {
      throw this.openError(err);
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    const md5 = createHash('md5').update(body).digest('base64');
    await this.retry('put', key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.fullKey(key),
          Body: body,
          ContentLength: body.length,
          // The server rejects the PUT if the bytes it got differ from what we hashed.
          ContentMD5: md5,
        }),
      ),
    );
  }

  async get(key: string, options?: GetOptions): Promise<Buffer> {
    const range = options?.range;
    if (range !== undefined) checkRange(key, range.start, range.end, Number.MAX_SAFE_INTEGER);
    return this.retry('get', key, async () => {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.fullKey(key),
          // Always an absolute range: s3rver answers suffix ranges (bytes=-N) wrongly (README "Pitfalls").
          ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end}` }),
        }),
      );
      if (range === undefined) return readBody(out.Body, out.ContentLength, this.idleTimeoutMs);
      const served = parseContentRange(out.ContentRange);
      if (served === undefined) {
        // A server that ignores Range sends the whole object with 200: cut the range out ourselves.
        const whole = await readBody(out.Body, out.ContentLength, this.idleTimeoutMs);
        checkRange(key, range.start, range.end, whole.length);
        return whole.subarray(range.start, range.end + 1);
      }
      if (served.start <= range.start && served.end >= range.end) {
        // More than asked is fine: s3rver reads "bytes=0-0" as "bytes=0-" (its end 0 is falsy) and
        // sends the whole object; cut our bytes out of it.
        const bytes = await readBody(out.Body, served.end - served.start + 1, this.idleTimeoutMs);
        return bytes.subarray(range.start - served.start, range.end - served.start + 1);
      }
      destroyBody(out.Body);
      // S3 shortens a range that runs past the end instead of refusing it; the contract refuses.
      if (served.size !== undefined) checkRange(key, range.start, range.end, served.size);
      throw new FsError('EIO', `S3 answered bytes ${served.start}-${served.end} to a request for ${range.start}-${range.end} of ${JSON.stringify(key)}`);
    });
  }

  /**
   * Streams the object. A body that breaks off is resumed from the last byte delivered with a
   * ranged GET pinned by If-Match to the same ETag, so the stream never splices two versions.
   */
  async getStream(key: string): Promise<Readable> {
    const first = await this.retry('get', key, () =>
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) })),
    );
    return Readable.from(this.resumingBody(key, first), { objectMode: false });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.retry('head', key, () =>
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) })),
      );
      return { key, size: out.ContentLength ?? 0, mtimeMs: out.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async delete(keys: string[]): Promise<void> {
    const unique = [...new Set(keys)];
    const batches: string[][] = [];
    for (let i = 0; i < unique.length; i += this.deleteBatchSize) batches.push(unique.slice(i, i + this.deleteBatchSize));
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let batch = batches[next++]; batch !== undefined; batch = batches[next++]) await this.deleteBatch(batch);
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_PARALLEL, batches.length) }, worker));
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const page = await this.retry('list', prefix, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.keyPrefix + prefix,
            MaxKeys: this.listPageSize,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        ),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined || !item.Key.startsWith(this.keyPrefix)) continue;
        yield { key: item.Key.slice(this.keyPrefix.length), size: item.Size ?? 0, mtimeMs: item.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      if (page.IsTruncated === true && token === undefined) {
        throw new FsError('EIO', `S3 list of ${JSON.stringify(prefix)} was truncated without a continuation token`);
      }
    } while (token !== undefined);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** Creates the bucket (an existing bucket of ours is fine); for tests and first-time setup. */
  async createBucket(): Promise<void> {
    const region = await this.client.config.region();
    try {
      await this.retry('create bucket', '', () =>
        this.client.send(
          new CreateBucketCommand({
            Bucket: this.bucket,
            // us-east-1 is the one region that refuses to be named here.
            ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
          }),
        ),
      );
    } catch (err) {
      if (err instanceof FsError && err.cause !== undefined && factsOf(err.cause).name === 'BucketAlreadyOwnedByYou') return;
      throw err;
    }
  }

  /** Deletes every object under the prefix, then the bucket itself; for tests. */
  async deleteBucket(): Promise<void> {
    const keys: string[] = [];
    for await (const info of this.list('')) keys.push(info.key);
    await this.delete(keys);
    if (this.keyPrefix !== '') return; // the rest of the bucket is not ours
    await this.retry('delete bucket', '', () => this.client.send(new DeleteBucketCommand({ Bucket: this.bucket })));
  }

  private fullKey(key: string): string {
    if (key === '') throw new FsError('EINVAL', 'empty object key');
    return this.keyPrefix + key;
  }

  /** Runs one idempotent S3 call with retries and turns its final failure into an FsError. */
  private async retry<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(fn, { tries: this.tries, baseMs: this.retryBaseMs, isRetryable: isRetryableS3Error });
    } catch (err) {
      throw this.operationError(op, key, err);
    }
  }

  private async deleteBatch(keys: string[]): Promise<void> {
    await this.retry('delete', keys[0] ?? '', async () => {
      const command = new DeleteObjectsCommand({
        Bucket: this.bucket,
        Delete: { Objects: keys.map((key) => ({ Key: this.fullKey(key) })), Quiet: true },
      });
      // Swift's S3 API refuses DeleteObjects without Content-MD5 (the SDK now sends only a CRC32
      // header), so hash the serialized XML body just before signing.
      command.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request;
          if (isRequestLike(request) && (typeof request.body === 'string' || request.body instanceof Uint8Array)) {
            request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
          }
          return next(args);
        },
        { step: 'build', name: 'davfsContentMd5' },
      );
      const out = await this.client.send(command);
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      const first = failed[0];
      if (first !== undefined) {
        // Per-key errors arrive inside a 200 answer; surface them like a failed request.
        throw Object.assign(new Error(`${failed.length} keys not deleted, first ${first.Key ?? '?'}: ${first.Code ?? '?'}`), {
          name: first.Code ?? 'DeleteError',
        });
      }
    });
  }

  private async *resumingBody(key: string, first: GetObjectCommandOutput): AsyncGenerator<Buffer> {
    const size = first.ContentLength;
    const etag = first.ETag;
    let body: unknown = first.Body;
    let offset = 0;
    let failures = 0;
    try {
      for (;;) {
        try {
          if (!(body instanceof Readable)) throw new FsError('EIO', `S3 GET ${JSON.stringify(key)} returned no stream`);
          for await (const chunk of body) {
            const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
            offset += buffer.length;
            yield buffer;
          }
          if (size === undefined || offset === size) return;
          throw new BrokenBodyError(`body ended after ${offset} of ${size} bytes`);
        } catch (err) {
          destroyBody(body);
          failures++;
          if (size === undefined || offset >= size || failures >= this.tries || !isRetryableS3Error(err)) {
            throw this.operationError('get', key, err);
          }
          await new Promise((resolve) => setTimeout(resolve, backoffMs(failures, this.retryBaseMs, 10_000)));
          const out = await this.retry('get', key, () =>
            this.client.send(
              new GetObjectCommand({
                Bucket: this.bucket,
                Key: this.fullKey(key),
                Range: `bytes=${offset}-${size - 1}`,
                ...(etag === undefined ? {} : { IfMatch: etag }),
              }),
            ),
          );
          const served = parseContentRange(out.ContentRange);
          if (served?.start !== offset) {
            destroyBody(out.Body);
            throw new FsError('EIO', `S3 did not resume ${JSON.stringify(key)} at byte ${offset}`);
          }
          body = out.Body;
        }
      }
    } finally {
      destroyBody(body);
    }
  }

  private operationError(op: string, key: string, err: unknown): FsError {
    if (err instanceof FsError) return err;
    const { status, name, code } = factsOf(err);
    const what = `S3 ${op} ${JSON.stringify(key)}`;
    if (name === 'NoSuchBucket') {
      return new FsError('EIO', `${what}: bucket "${this.bucket}" does not exist at ${this.where}`, { cause: err });
    }
    if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') {
      return new FsError('ENOENT', `no object ${JSON.stringify(key)}`, { cause: err });
    }
    if (status === 416 || name === 'InvalidRange') return new FsError('EINVAL', `${what}: range outside the object`, { cause: err });
    if (status === 412 || name === 'PreconditionFailed') {
      return new FsError('EIO', `${what}: the object changed while it was being read`, { cause: err });
    }
    const detail = [name, code, status === undefined ? undefined : `HTTP ${status}`].filter((s) => s !== undefined && s !== 'Error');
    return new FsError('EIO', `${what} failed at ${this.where}: ${detail.join(', ') || String(err)}`, { cause: err });
  }

  /** One message an operator can act on per way open() fails; never the secret key. */
  private openError(err: unknown): FsError {
    const { status, name, code } = factsOf(err);
    const bucket = `bucket "${this.bucket}" at ${this.where}`;
    const say = (message: string): FsError => new FsError('EIO', message, { cause: err });
    if (name === 'CredentialsProviderError') {
      return say(`no S3 credentials for ${bucket}: give access_key and secret_key in the store URL, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
    }
    if (code === 'ECONNREFUSED') return say(`cannot reach the S3 endpoint ${this.where}: connection refused (is the server running?)`);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return say(`cannot reach the S3 endpoint ${this.where}: host name not found`);
    if (name === 'TimeoutError' || code === 'ETIMEDOUT' || code === 'ECONNRESET') {
      return say(`cannot reach the S3 endpoint ${this.where}: no answer within ${Math.round(this.connectTimeoutMs / 1000)} s (${code ?? 'timeout'})`);
    }
    if (code !== undefined && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
      return say(`cannot reach the S3 endpoint ${this.where}: TLS certificate rejected (${code})`);
    }
    if (status === 404 || name === 'NoSuchBucket' || name === 'NotFound') {
      return say(`${bucket} does not exist: create it, or check the bucket name and endpoint`);
    }
    if (status === 403 || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'AccessDenied' || name === 'Forbidden') {
      const who = this.accessKeyId === undefined ? 'the credentials from the AWS environment' : `access key "${this.accessKeyId}"`;
      return say(`access to ${bucket} denied for ${who}: check the access key and secret key, and the bucket's permissions`);
    }
    if (status === 301 || name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed') {
      return say(`${bucket} is in another region: set the store's region`);
    }
    if (code !== undefined) return say(`cannot reach the S3 endpoint ${this.where}: ${code}`);
    const detail = [name, status === undefined ? undefined : `HTTP ${status}`].filter((s) => s !== undefined && s !== 'Error');
    return say(`cannot use ${bucket}: ${detail.join(', ') || 'unknown error'}`);
  }
}

/**
 * Reads a GET body completely and checks its length. Waits for 'end' but also for 'error',
 * 'aborted' and 'close': a body that breaks after the headers (ECONNRESET "aborted") never emits
 * 'end', and code waiting only for it hangs (README "Pitfalls"). A short body is an error too.
 */
function readBody(body: unknown, expected: number | undefined, idleTimeoutMs: number): Promise<Buffer> {
  if (!(body instanceof Readable)) {
    if (body === undefined && expected === 0) return Promise.resolve(Buffer.alloc(0));
    return Promise.reject(new FsError('EIO', 'S3 GET returned no stream'));
  }
  return new Promise((resolve, reject) => {
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
        resolve(parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts, received));
      }
    };
    const armIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(new BrokenBodyError(`body stalled for ${idleTimeoutMs} ms after ${received} bytes`)), idleTimeoutMs);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      parts.push(chunk);
      if (expected !== undefined && received > expected) finish(new BrokenBodyError(`body longer than the ${expected} bytes announced`));
      else armIdle();
    };
    body.on('data', onData);
    body.once('end', () => {
      if (expected !== undefined && received !== expected) finish(new BrokenBodyError(`body ended after ${received} of ${expected} bytes`));
      else finish();
    });
    // on(), not once(): an 'error' emitted after we gave up must not become an uncaught exception.
    body.on('error', (err: Error) => finish(new BrokenBodyError(`body broke off after ${received} bytes: ${err.message}`, { cause: err })));
    body.once('aborted', () => finish(new BrokenBodyError(`body aborted after ${received} bytes`)));
    body.once('close', () => finish(new BrokenBodyError(`body closed after ${received} bytes`)));
    armIdle();
  });
}

function destroyBody(body: unknown): void {
  if (body instanceof Readable) body.destroy();
}

/** "bytes 0-99/1234" → numbers; undefined when absent (a 200 answer). "*" size → undefined. */
function parseContentRange(header: string | undefined): { start: number; end: number; size?: number } | undefined {
  const match = header === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  if (match === null) return undefined;
  const size = match[3] === '*' ? undefined : Number(match[3]);
  return { start: Number(match[1]), end: Number(match[2]), ...(size === undefined ? {} : { size }) };
}

function isRequestLike(request: unknown): request is { headers: Record<string, string>; body?: unknown } {
  return typeof request === 'object' && request !== null && 'headers' in request && typeof request.headers === 'object' && request.headers !== null;
}

/** The endpoint for messages and logs: scheme, host and path only, never user:password@ or a query. */
function redactEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '(invalid endpoint)';
  }
}

const URL_OPTIONS = ['endpoint', 'region', 'path_style', 'access_key', 'secret_key', 'session_token'] as const;

/**
 * Parses `s3://bucket/some/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true&access_key=…&secret_key=…`.
 * Query values are percent-decoded but '+' stays '+' (AWS secret keys contain it; form decoding
 * would turn it into a space). Without access_key/secret_key the SDK's chain supplies credentials.
 * Errors are FsError('EINVAL') and never quote the URL, which may hold the secret.
 */
export function parseS3Url(url: string): S3ObjectStoreOptions {
  const bad = (why: string): never => {
    throw new FsError('EINVAL', `S3 store URL: ${why}`);
  };
  const match = /^s3:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i.exec(url.trim());
  if (match === null) return bad('expected s3://bucket/prefix?option=value&…');
  const [, bucketPart = '', pathPart = '', query = ''] = match;
  // Bucket names never contain '@' or ':'; seeing one means user:secret@ was put before the bucket.
  if (/[@:]/.test(bucketPart)) return bad('credentials go in the access_key and secret_key options, not before the bucket');
  const bucket = decode(bucketPart, bad);
  if (bucket === '') return bad('the bucket name is missing');
  const options: S3ObjectStoreOptions = { bucket };
  const prefix = decode(pathPart, bad).replace(/^\/+|\/+$/g, '');
  if (prefix !== '') options.prefix = prefix;

  const values = new Map<string, string>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq), bad);
    if (!(URL_OPTIONS as readonly string[]).includes(name)) {
      return bad(`unknown option "${name}" (known: ${URL_OPTIONS.join(', ')})`);
    }
    values.set(name, eq < 0 ? '' : decode(pair.slice(eq + 1), bad));
  }

  const endpoint = values.get('endpoint');
  if (endpoint !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(endpoint);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      return bad('endpoint must be an http:// or https:// URL');
    }
    options.endpoint = endpoint;
  }
  const region = values.get('region');
  if (region !== undefined) {
    if (region === '') return bad('region is empty');
    options.region = region;
  }
  const pathStyle = values.get('path_style');
  if (pathStyle !== undefined) {
    const flag = { true: true, '1': true, yes: true, false: false, '0': false, no: false }[pathStyle.toLowerCase()];
    if (flag === undefined) return bad('path_style must be true or false');
    options.forcePathStyle = flag;
  }
  const accessKeyId = values.get('access_key');
  const secretAccessKey = values.get('secret_key');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) return bad('give both access_key and secret_key, or neither');
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    if (accessKeyId === '' || secretAccessKey === '') return bad('access_key and secret_key must not be empty');
    const sessionToken = values.get('session_token');
    options.credentials = { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) };
  } else if (values.has('session_token')) {
    return bad('session_token needs access_key and secret_key');
  }
  return options;
}

function decode(text: string, bad: (why: string) => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return bad('bad percent-encoding');
  }
}
