// Which file system and locks a request works on. With authentication, the user's own view
// (tenancy/): their home as `/`, their shares inside it, their rights and quota; the home folder is
// created on the user's first request. Without authentication (auth.enabled: false, for a server
// behind an authenticating proxy), the whole tree.
import type { Context } from 'koa';
import { LRUCache } from 'lru-cache';
import type { Authenticator, User } from '../auth/authenticator.js';
import { FsError } from '../core/errors.js';
import type { DavSession } from '../dav/context.js';
import type { LockService } from '../locks/lock-manager.js';
import { Namespace } from '../tenancy/namespace.js';
import { UserFileSystem, type TreeFileSystem } from '../tenancy/user-file-system.js';
import { UserLocks } from '../tenancy/user-locks.js';
import type { FileSystem } from '../vfs/file-system.js';

export interface Tree {
  vfs: TreeFileSystem;
  locks: LockService;
}

/** How long a home found to exist is not checked again (a removed home comes back after this). */
const HOME_CHECK_TTL_MS = 10_000;

export function sessionResolver(tree: Tree, auth: Authenticator | undefined): (ctx: Context) => Promise<DavSession> {
  if (!auth) return () => Promise.resolve({ vfs: tree.vfs, locks: tree.locks, principal: null });
  const homesSeen = new LRUCache<string, true>({ max: 10_000, ttl: HOME_CHECK_TTL_MS });
  return async (ctx) => {
    const user = ctx.state.user as User | undefined;
    // Only OPTIONS comes this far without a user (authenticate.ts); it touches no file.
    if (!user) return { vfs: NO_ACCESS, locks: tree.locks, principal: null };
    const shares = await auth.sharesOf(user.name);
    const ns = new Namespace({ name: user.name, home: user.home, readOnly: user.readOnly, quotaBytes: user.quotaBytes, shares });
    if (!homesSeen.has(user.home)) {
      await tree.vfs.mkdir(user.home, { parents: true });
      homesSeen.set(user.home, true);
    }
    return { vfs: new UserFileSystem(tree.vfs, ns), locks: new UserLocks(tree.locks, ns), principal: user.name };
  };
}

/** A file system on which everything is refused (anonymous requests never reach a file). */
const NO_ACCESS = new Proxy({} as FileSystem, {
  get: () => () => Promise.reject(new FsError('EACCES', 'authentication required')),
});
