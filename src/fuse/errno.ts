// The FUSE front's one translation table: FsError codes (src/core/errors.ts) to Linux errnos.
// When a code is added to FsErrorCode, TypeScript fails here until it has a row.
import { constants } from 'node:os';
import { FsError, type FsErrorCode } from '../core/errors.js';

const E = constants.errno;

export const ERRNO_OF_CODE: Record<FsErrorCode, number> = {
  ENOENT: E.ENOENT,
  EEXIST: E.EEXIST,
  ENOTDIR: E.ENOTDIR,
  EISDIR: E.EISDIR,
  ENOTEMPTY: E.ENOTEMPTY,
  EINVAL: E.EINVAL,
  EACCES: E.EACCES,
  EBUSY: E.EBUSY,
  ENOSPC: E.ENOSPC,
  // Only a conditional write fails this way: the file changed under a handle that expected a
  // version (ESTALE is what NFS answers for a handle to content that is gone).
  EPRECONDITION: E.ESTALE,
  EIO: E.EIO,
  // The operation was abandoned (the request was interrupted, a stream ended early).
  ECANCELED: E.EINTR,
};

/** Positive errno for any thrown value: FsError by the table, Node's fs errors by their code, else EIO. */
export function errnoOf(err: unknown): number {
  if (err instanceof FsError) return ERRNO_OF_CODE[err.code];
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code in E) return E[code as keyof typeof E];
  return E.EIO;
}

/** Errors that are ordinary answers (a lookup of a missing name), not worth a warning in the log. */
export function isExpectedErrno(errno: number): boolean {
  return errno === E.ENOENT || errno === E.EEXIST || errno === E.ENOTEMPTY || errno === E.ENOTDIR || errno === E.EISDIR;
}
