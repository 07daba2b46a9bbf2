// The one translation from the core's FsError codes to HTTP statuses (RFC 4918 §9 per method).
// Methods that need a different status for one code (MKCOL's 405 for EEXIST) override it where
// they call the Vfs. Update this table when a code is added to core/errors.ts.
import { FsError, type FsErrorCode } from '../core/errors.js';

export const STATUS_OF: Record<FsErrorCode, number> = {
  ENOENT: 404,
  EEXIST: 412, // COPY/MOVE with Overwrite: F onto an existing resource (RFC 4918 §9.8.5)
  ENOTDIR: 409, // a path component is a file: the parent "collection" is missing (§9.7.1)
  EISDIR: 405,
  ENOTEMPTY: 409,
  EINVAL: 400,
  EACCES: 403,
  EBUSY: 423,
  ENOSPC: 507,
  EPRECONDITION: 412,
  EIO: 502, // the object or metadata store failed behind us
  ECANCELED: 400,
};

/** Status and a short client-safe reason for any error thrown while serving. */
export function httpErrorOf(err: unknown): { status: number; message: string } {
  if (err instanceof FsError) return { status: STATUS_OF[err.code], message: err.message };
  const status = (err as { status?: unknown; expose?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 600) {
    return { status, message: (err as { expose?: boolean }).expose ? (err as Error).message : 'request failed' };
  }
  return { status: 500, message: 'internal error' };
}
