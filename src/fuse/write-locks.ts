// WebDAV locks held while a file is open for writing (remote mode: `mount --remote`), so another
// client of the server — Office on Windows, a second mount — sees the file as being edited and
// cannot overwrite it under us (RFC 4918 §7). One lock per open file, taken at the first
// write-open and given back when its last descriptor is released, after the final commit.
import { FsError } from '../core/errors.js';

/** What the mount needs of a server's locks (RemoteFileSystem has these). */
export interface FileLocker {
  lock(path: string): Promise<string>;
  unlock(path: string, token: string): Promise<void>;
}

export interface LockLog {
  warn(obj: object, msg: string): void;
}

/** open(2)'s access-mode bits (O_ACCMODE, 3 on Linux and macOS; Node does not export it). */
const O_ACCMODE = 3;
const O_RDONLY = 0;

/** True for open(2) flags that allow writing. */
export function opensForWrite(flags: number | undefined): boolean {
  return flags !== undefined && (flags & O_ACCMODE) !== O_RDONLY;
}

export class WriteLocks<K extends object> {
  private readonly held = new Map<K, { path: string; token: string }>();

  constructor(
    private readonly locker: FileLocker | undefined,
    private readonly log: LockLog,
  ) {}

  /**
   * Locks `path` for `key` (an open file) unless it already holds a lock. A lock held by someone
   * else refuses the open (EBUSY: the file is being edited elsewhere); any other failure (a server
   * without locking) is logged and the file opens unlocked, as a class 1 server allows.
   */
  async acquire(key: K, path: string): Promise<void> {
    if (!this.locker || this.held.has(key)) return;
    try {
      this.held.set(key, { path, token: await this.locker.lock(path) });
    } catch (err) {
      if (err instanceof FsError && err.code === 'EBUSY') throw err;
      this.log.warn({ path, err: (err as Error).message }, 'could not lock a file opened for writing; editing it unlocked');
    }
  }

  /** Gives the lock of `key` back (its last descriptor was released). */
  async release(key: K): Promise<void> {
    const held = this.held.get(key);
    if (!held || !this.locker) return;
    this.held.delete(key);
    await this.locker.unlock(held.path, held.token).catch((err: unknown) => {
      // It lapses by its timeout anyway; the next open takes a new one.
      this.log.warn({ path: held.path, err: (err as Error).message }, 'could not unlock');
    });
  }
}
