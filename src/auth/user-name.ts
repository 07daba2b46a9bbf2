// What a user name may be: the rules are in core/account-name.ts, shared with share names.
import { checkAccountName } from '../core/account-name.js';

/** Returns `name` if it is a valid user name; FsError('EINVAL') saying what is allowed otherwise. */
export function checkUserName(name: string): string {
  return checkAccountName(name, 'user');
}
