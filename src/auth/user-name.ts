// What a user name may be: safe in a Basic/Digest header, a log line, a lock principal and a
// default home path (`/home/NAME`), on every client.
import { FsError } from '../core/errors.js';

/** 1–64 characters of [A-Za-z0-9._-], not starting with '.' (so never `.` or `..`). */
const USER_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

/** Returns `name` if it is a valid user name; FsError('EINVAL') saying what is allowed otherwise. */
export function checkUserName(name: string): string {
  if (!USER_NAME.test(name)) {
    throw new FsError('EINVAL', `invalid user name ${JSON.stringify(name)}: use 1–64 of A-Z a-z 0-9 . _ -, not starting with "."`);
  }
  return name;
}
