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
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { FsError } from '../core/errors.js';
import { DirectGetHandler } from './direct-get.js';
import type { GetOptions, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';
import { backoffMs, withRetry } from './retry.js';
import { BrokenBodyError, destroyBody, parseContentRange, readBody } from './s3-body.js';
import { factsOf, isRetryableS3Error, s3OpenError, s3OperationError } from './s3-errors.js';
import type { S3Target } from './s3-errors.js';
import { redactEndpoint } from './s3-url.js';
import type { S3ObjectStoreOptions } from './s3-url.js';
import { checkRange } from './store-keys.js';

// What other modules and tests import from here; the code lives in the files named.
export { isRetryableS3Error } from './s3-errors.js';
export { parseS3Url } from './s3-url.js';
export type { S3ObjectStoreOptions } from './s3-url.js';

/** S3's limit on keys per DeleteObjects request and per ListObjectsV2 page. */
const S3_MAX_KEYS = 1000;
/** DeleteObjects requests in flight at once when deleting many keys (GC). */
const DELETE_PARALLEL = 4;

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  /** '' or ends with '/'. */
  private readonly keyPrefix: string;
  /** What error messages name. */
  private readonly target: S3Target;
  private readonly tries: number;
  private readonly retryBaseMs: number;
  private readonly idleTimeoutMs: number;
  private readonly listPageSize: number;
  private readonly deleteBatchSize: number;
  /** Carries whole-object GETs over http:// into the caller's buffers; undefined over https. */
  private readonly direct: DirectGetHandler | undefined;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.keyPrefix = prefix === '' ? '' : `${prefix}/`;
    const region = options.region ?? 'us-east-1';
    const where = options.endpoint === undefined ? `AWS S3 (${region})` : redactEndpoint(options.endpoint);
    this.description = `s3://${this.bucket}/${this.keyPrefix} at ${where}`;
    this.tries = options.tries ?? 5;
    this.retryBaseMs = options.retryBaseMs ?? 200;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.target = {
      bucket: this.bucket,
      where,
      accessKeyId: options.credentials?.accessKeyId,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    };
    this.listPageSize = Math.max(1, Math.min(S3_MAX_KEYS, options.listPageSize ?? S3_MAX_KEYS));
    this.deleteBatchSize = Math.max(1, Math.min(S3_MAX_KEYS, options.deleteBatchSize ?? S3_MAX_KEYS));
    const sdkHandler = new NodeHttpHandler({ connectionTimeout: this.target.connectTimeoutMs, socketTimeout: this.idleTimeoutMs });
    // Plain http only: TLS would need the SDK's agent settings (CA bundles) repeated here.
    const plainHttp = options.endpoint !== undefined && new URL(options.endpoint).protocol === 'http:';
    this.direct =
      plainHttp && options.directGet !== false
        ? new DirectGetHandler(sdkHandler, { connectTimeoutMs: this.target.connectTimeoutMs, idleTimeoutMs: this.idleTimeoutMs })
        : undefined;
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
      requestHandler: this.direct ?? sdkHandler,
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
      throw s3OpenError(this.target, err);
    }
  }

  async put(key: string, body: Buffer, options?: PutOptions): Promise<void> {
    const sha256 = options?.sha256;
    // Either way the server rejects a PUT whose bytes differ from what we hashed. A known SHA-256
    // goes out as SigV4's signed payload hash (x-amz-content-sha256), which AWS S3, MinIO, Ceph RGW
    // and Swift's s3api verify (swift 2.30 s3request.py, HashingInput); the signer then skips its
    // own SHA-256 of the body, and no MD5 is needed. Both hashes ran on the event loop: 3.2 s of
    // CPU per GiB written, measured in a FUSE write profile.
    const md5 = sha256 === undefined ? createHash('md5').update(body).digest('base64') : undefined;
    await this.retry('put', key, () => {
      const command = new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.fullKey(key),
        Body: body,
        ContentLength: body.length,
        ...(md5 === undefined ? {} : { ContentMD5: md5 }),
      });
      if (sha256 !== undefined) {
        // Set before signing, so the SigV4 signer takes it instead of hashing the body.
        command.middlewareStack.add(
          (next) => (args) => {
            const request = args.request as { headers?: Record<string, string> };
            if (request.headers !== undefined) request.headers['x-amz-content-sha256'] = sha256;
            return next(args);
          },
          { step: 'build', name: 'davfsKnownSha256' },
        );
      }
      return this.client.send(command);
    });
  }

  async get(key: string, options?: GetOptions): Promise<Buffer> {
    const range = options?.range;
    if (range !== undefined) checkRange(key, range.start, range.end, Number.MAX_SAFE_INTEGER);
    return this.retry('get', key, async () => {
      // A whole object over http:// lands in `into` (or new memory) on a connection of ours.
      const landing = range === undefined ? this.direct?.expect(options?.into) : undefined;
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.fullKey(key),
          // Always an absolute range: s3rver answers suffix ranges (bytes=-N) wrongly (README "Pitfalls").
          ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end}` }),
        }),
        landing === undefined ? {} : { abortSignal: landing.signal },
      );
      if (landing?.data !== undefined) return landing.data;
      if (range === undefined) return readBody(out.Body, out.ContentLength, this.idleTimeoutMs, options?.into);
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
      throw s3OperationError(this.target, op, key, err);
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
            throw s3OperationError(this.target, 'get', key, err);
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
}

function isRequestLike(request: unknown): request is { headers: Record<string, string>; body?: unknown } {
  return typeof request === 'object' && request !== null && 'headers' in request && typeof request.headers === 'object' && request.headers !== null;
}
