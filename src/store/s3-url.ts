// Parses the `s3://bucket/prefix?…` store URL into S3ObjectStoreOptions, and redacts endpoints for messages.
import { FsError } from '../core/errors.js';

/** Everything S3ObjectStore is configured by; parseS3Url builds it from a store URL. */
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
  /**
   * Whole-object GETs over http:// read into the caller's memory on connections of our own
   * (direct-get.ts) instead of node:http. Default true; tests turn it off to compare.
   */
  directGet?: boolean;
}

/** The endpoint for messages and logs: scheme, host and path only, never user:password@ or a query. */
export function redactEndpoint(endpoint: string): string {
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
