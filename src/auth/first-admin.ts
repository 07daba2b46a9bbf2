// The first start of a server with no users creates `admin`, whose home is the whole tree, with a
// random password that the caller prints once. Only its hash is stored.
import { FsError } from '../core/errors.js';
import type { MetaStore } from '../meta/meta-store.js';
import { digestHa1, hashPassword, randomPassword } from './password.js';

export const FIRST_ADMIN = 'admin';

/** Creates the admin when the store has no user; returns its password, or undefined when users exist. */
export async function ensureFirstAdmin(meta: MetaStore, digestRealm: string | undefined, nowMs: number = Date.now()): Promise<string | undefined> {
  if ((await meta.listUsers()).length > 0) return undefined;
  const password = randomPassword();
  try {
    await meta.createUser({
      name: FIRST_ADMIN,
      passwordHash: await hashPassword(password),
      digestHa1: digestRealm === undefined ? null : digestHa1(FIRST_ADMIN, digestRealm, password),
      home: '/',
      quotaBytes: null,
      readOnly: false,
      createdMs: nowMs,
    });
  } catch (err) {
    // Another node sharing the database created it first: its password was printed there.
    if (err instanceof FsError && err.code === 'EEXIST') return undefined;
    throw err;
  }
  return password;
}
