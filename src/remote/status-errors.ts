// The one translation of HTTP statuses from a WebDAV server into the core's FsError codes (the
// mirror of dav/status.ts). Where one status means different things per method, the caller passes
// an override (e.g. 412 on MOVE with Overwrite: F is EEXIST); update the table when a code is added
// to core/errors.ts.
import { FsError, type FsErrorCode } from '../core/errors.js';

/** What a status means when the request gives it no more specific meaning. */
export const CODE_OF_STATUS: Readonly<Record<number, FsErrorCode>> = {
  400: 'EINVAL',
  401: 'EACCES', // credentials missing or refused: see unauthorized() for the message
  403: 'EACCES',
  404: 'ENOENT',
  405: 'EINVAL', // overridden per method: MKCOL → EEXIST, PUT/PATCH → EISDIR
  409: 'ENOENT', // a missing parent collection (RFC 4918 §9.7.1); ENOTDIR is told apart by the caller
  412: 'EPRECONDITION', // If-Match / If-None-Match failed; EEXIST for COPY/MOVE with Overwrite: F
  413: 'ENOSPC',
  415: 'EINVAL',
  416: 'EINVAL',
  423: 'EBUSY', // locked (RFC 4918 §11.3)
  424: 'EIO', // failed dependency: another part of the request failed
  429: 'EBUSY', // too many requests (davfs-bridge throttles failed logins): try again later
  507: 'ENOSPC', // insufficient storage (RFC 4918 §11.5): quota or disk
};

/** Per-request meanings that win over the table. */
export type StatusOverrides = Partial<Record<number, FsErrorCode>>;

/** The FsError for a failed response; 5xx and anything unknown are EIO (the server failed, not us). */
export function statusError(status: number, what: string, overrides: StatusOverrides = {}, detail = ''): FsError {
  const code = overrides[status] ?? CODE_OF_STATUS[status] ?? 'EIO';
  const reason = detail.trim().split('\n')[0]?.slice(0, 200) ?? '';
  return new FsError(code, `${what}: HTTP ${status}${reason ? ` (${reason})` : ''}`);
}

/** 401 gets its own message: the mount cannot work at all until the credentials are fixed. */
export function unauthorized(url: string, hadCredentials: boolean): FsError {
  return new FsError(
    'EACCES',
    hadCredentials ? `${url} refused the credentials (401 Unauthorized): check the user and password or token` : `${url} needs credentials (401 Unauthorized): pass a user and password or a token`,
  );
}

/** A network failure (refused, reset, DNS, TLS): EIO naming the server and the cause. */
export function unreachable(url: string, err: unknown): FsError {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.name) : '';
  const text = cause instanceof Error ? `${code}: ${cause.message}` : String(cause);
  // Node's fetch takes no per-request CA; the process-wide way is the environment.
  const hint = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code) ? ' (to trust a self-signed or private certificate, start with NODE_EXTRA_CA_CERTS=<its PEM file>)' : '';
  return new FsError('EIO', `cannot reach ${url}: ${text}${hint}`, { cause });
}
