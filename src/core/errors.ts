// The one error vocabulary of the core. Each front (dav/, fuse/) translates these codes once, in
// a single table; when you add a code here, update those tables too.

/** POSIX-like codes: the fronts map them to HTTP statuses and errnos. */
export type FsErrorCode =
  | 'ENOENT' // no such file or folder
  | 'EEXIST' // the target exists and overwriting was not allowed
  | 'ENOTDIR' // a path component (or the target of a folder operation) is a file
  | 'EISDIR' // a file operation on a folder
  | 'ENOTEMPTY' // removing a non-empty folder without `recursive`
  | 'EINVAL' // a bad argument: malformed path, moving a folder into itself, bad range
  | 'EACCES' // the path is outside what the caller may touch
  | 'EBUSY' // a conflicting operation holds the resource (e.g. a lock)
  | 'ENOSPC' // quota or disk exhausted
  | 'EPRECONDITION' // a conditional operation's condition (ETag) failed
  | 'EIO' // the object store or metadata store failed
  | 'ECANCELED'; // the caller aborted (client disconnect, stream error)

export class FsError extends Error {
  readonly code: FsErrorCode;
  constructor(code: FsErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'FsError';
    this.code = code;
  }
}

export function isFsError(err: unknown, code?: FsErrorCode): err is FsError {
  return err instanceof FsError && (code === undefined || err.code === code);
}
