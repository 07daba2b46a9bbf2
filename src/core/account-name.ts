// What a user or share name may be: safe in a Basic/Digest header, a log line, a lock principal, a
// default home path (`/home/NAME`) and a path segment of a user's view (a share is mounted under
// its name), on every client. auth/ checks user names with it, meta/ share names.
import { FsError } from './errors.js';

/** 1–64 characters of [A-Za-z0-9._-], not starting with '.' (so never `.` or `..`). */
const ACCOUNT_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

/** Returns `name` if it is valid; FsError('EINVAL') naming `what` and what is allowed otherwise. */
export function checkAccountName(name: string, what: 'user' | 'share'): string {
  if (typeof name !== 'string' || !ACCOUNT_NAME.test(name)) {
    throw new FsError('EINVAL', `invalid ${what} name ${JSON.stringify(name)}: use 1–64 of A-Z a-z 0-9 . _ -, not starting with "."`);
  }
  return name;
}
