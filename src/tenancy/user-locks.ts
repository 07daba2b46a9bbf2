// One user's view of the lock manager: lock paths go through the user's Namespace on the way in,
// lock roots come back as the user sees them. Locks themselves are tree-wide rows, so a lock taken
// through one user's share is honoured for every other user of that folder (and on every node).
// A lock is an intent to write (RFC 4918 §7): taking one where the user may not write is 403.
import type { Lock, LockRequest, LockService, WriteCheck } from '../locks/lock-manager.js';
import type { Namespace, Mount } from './namespace.js';

export class UserLocks implements LockService {
  constructor(
    private readonly locks: LockService,
    private readonly ns: Namespace,
  ) {}

  async lock(req: LockRequest): Promise<Lock> {
    const r = this.ns.resolveWritable(req.path);
    return this.shown(r.mount, await this.locks.lock({ ...req, path: r.real }));
  }

  async refresh(path: string, token: string, timeout: number | 'infinite' | undefined, principal?: string | null): Promise<Lock> {
    const r = this.ns.resolve(path);
    return this.shown(r.mount, await this.locks.refresh(r.real, token, timeout, principal));
  }

  unlock(path: string, token: string, principal: string | null): Promise<void> {
    return this.locks.unlock(this.ns.resolve(path).real, token, principal);
  }

  async discover(path: string): Promise<Lock[]> {
    const r = this.ns.resolve(path);
    return (await this.locks.discover(r.real)).map((l) => this.shown(r.mount, l));
  }

  async discoverTree(path: string): Promise<Lock[]> {
    const r = this.ns.resolve(path);
    const found = (await this.locks.discoverTree(r.real)).map((l) => this.shown(r.mount, l));
    // The shares mounted in `/` are elsewhere in the tree: a depth-1 PROPFIND of `/` shows them too.
    if (r.visible !== '/') return found;
    for (const m of this.ns.shares) found.push(...(await this.locks.discoverTree(m.real)).map((l) => this.shown(m, l)));
    return found;
  }

  assertCanWrite(check: WriteCheck): Promise<void> {
    return this.locks.assertCanWrite({ ...check, path: this.ns.resolve(check.path).real });
  }

  releaseWithin(path: string): Promise<number> {
    return this.locks.releaseWithin(this.ns.resolve(path).real);
  }

  /**
   * The lock as the user sees it. A lock rooted above the mount (an administrator's depth-infinity
   * lock on a parent of the user's home) shows its root as the mount point: the nearest thing the
   * user can name.
   */
  private shown(mount: Mount, lock: Lock): Lock {
    return { ...lock, root: this.ns.toVisible(mount, lock.root) ?? mount.visible };
  }
}
