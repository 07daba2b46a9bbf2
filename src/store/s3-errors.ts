// S3 failures classified: which are worth another attempt, and which FsError (with which message) each becomes.
import { FsError } from '../core/errors.js';

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
  'EBROKENBODY', // BrokenBodyError (s3-body.ts): a GET body that broke off after the headers
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

export interface ErrorFacts {
  status?: number;
  name?: string;
  code?: string;
}

/** Reads what classification needs from an SDK, network or our own error, without trusting its type. */
export function factsOf(err: unknown): ErrorFacts {
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

/** The bucket and endpoint that messages name, never the secret key. */
export interface S3Target {
  bucket: string;
  /** The endpoint without credentials or query, or "AWS S3 (region)". */
  where: string;
  accessKeyId: string | undefined;
  connectTimeoutMs: number;
}

/** The FsError an operation's last failure becomes: ENOENT for a missing object, EINVAL for a bad range, EIO otherwise. */
export function s3OperationError(target: S3Target, op: string, key: string, err: unknown): FsError {
  if (err instanceof FsError) return err;
  const { status, name, code } = factsOf(err);
  const what = `S3 ${op} ${JSON.stringify(key)}`;
  if (name === 'NoSuchBucket') {
    return new FsError('EIO', `${what}: bucket "${target.bucket}" does not exist at ${target.where}`, { cause: err });
  }
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') {
    return new FsError('ENOENT', `no object ${JSON.stringify(key)}`, { cause: err });
  }
  if (status === 416 || name === 'InvalidRange') return new FsError('EINVAL', `${what}: range outside the object`, { cause: err });
  if (status === 412 || name === 'PreconditionFailed') {
    return new FsError('EIO', `${what}: the object changed while it was being read`, { cause: err });
  }
  const detail = [name, code, status === undefined ? undefined : `HTTP ${status}`].filter((s) => s !== undefined && s !== 'Error');
  return new FsError('EIO', `${what} failed at ${target.where}: ${detail.join(', ') || String(err)}`, { cause: err });
}

/** One message an operator can act on per way open() fails; never the secret key. */
export function s3OpenError(target: S3Target, err: unknown): FsError {
  const { status, name, code } = factsOf(err);
  const bucket = `bucket "${target.bucket}" at ${target.where}`;
  const say = (message: string): FsError => new FsError('EIO', message, { cause: err });
  if (name === 'CredentialsProviderError') {
    return say(`no S3 credentials for ${bucket}: give access_key and secret_key in the store URL, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
  }
  if (code === 'ECONNREFUSED') return say(`cannot reach the S3 endpoint ${target.where}: connection refused (is the server running?)`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return say(`cannot reach the S3 endpoint ${target.where}: host name not found`);
  if (name === 'TimeoutError' || code === 'ETIMEDOUT' || code === 'ECONNRESET') {
    return say(`cannot reach the S3 endpoint ${target.where}: no answer within ${Math.round(target.connectTimeoutMs / 1000)} s (${code ?? 'timeout'})`);
  }
  if (code !== undefined && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    return say(`cannot reach the S3 endpoint ${target.where}: TLS certificate rejected (${code})`);
  }
  if (status === 404 || name === 'NoSuchBucket' || name === 'NotFound') {
    return say(`${bucket} does not exist: create it, or check the bucket name and endpoint`);
  }
  if (status === 403 || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'AccessDenied' || name === 'Forbidden') {
    const who = target.accessKeyId === undefined ? 'the credentials from the AWS environment' : `access key "${target.accessKeyId}"`;
    return say(`access to ${bucket} denied for ${who}: check the access key and secret key, and the bucket's permissions`);
  }
  if (status === 301 || name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed') {
    return say(`${bucket} is in another region: set the store's region`);
  }
  if (code !== undefined) return say(`cannot reach the S3 endpoint ${target.where}: ${code}`);
  const detail = [name, status === undefined ? undefined : `HTTP ${status}`].filter((s) => s !== undefined && s !== 'Error');
  return say(`cannot use ${bucket}: ${detail.join(', ') || 'unknown error'}`);
}
