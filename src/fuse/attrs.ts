// Stat (the core's view of a node) to the attributes FUSE reports, and the user-space attribute
// cache. Nodes created over WebDAV have no mode or owner: they get the mount's defaults.
import { LRUCache } from 'lru-cache';
import { constants } from 'node:fs';
import { isSameOrInside } from '../core/paths.js';
import type { Stat } from '../vfs/types.js';
import type { FuseAttr } from './fuse-binding.js';

export interface AttrDefaults {
  /** Owner of nodes that have none recorded (the mounting user by default). */
  uid: number;
  gid: number;
}

export const DEFAULT_FILE_MODE = 0o644;
export const DEFAULT_DIR_MODE = 0o755;
/** Preferred I/O size (st_blksize): cp sizes its buffer by it; FUSE requests are 128 KiB at most. */
const BLKSIZE = 128 * 1024;

export function toFuseAttr(st: Stat, d: AttrDefaults, live?: { size: number; mtimeMs: number }): FuseAttr {
  const dir = st.kind === 'dir';
  const size = live?.size ?? (dir ? 4096 : st.size);
  const mtime = live?.mtimeMs ?? st.mtimeMs;
  return {
    mode: (dir ? constants.S_IFDIR : constants.S_IFREG) | (st.mode ?? (dir ? DEFAULT_DIR_MODE : DEFAULT_FILE_MODE)),
    uid: st.uid ?? d.uid,
    gid: st.gid ?? d.gid,
    size,
    nlink: dir ? 2 : 1,
    blocks: Math.ceil(size / 512),
    blksize: BLKSIZE,
    mtime,
    // Access times are not recorded (every read would be a metadata write).
    atime: mtime,
    ctime: Math.max(st.ctimeMs, mtime),
  };
}

/**
 * Stats by path for a short time. `ls -l` of a 10,000-file folder is one listing and then one
 * lookup per name (libfuse 2 has no READDIRPLUS): the listing fills this cache and the lookups are
 * answered from it instead of walking the tree again each. Changes made through this mount update
 * or drop entries at once; changes made elsewhere (WebDAV, another node) show after `ttlMs`, and
 * at once to open(), which always asks the store (close-to-open consistency, as NFS).
 */
export class AttrCache {
  private readonly cache: LRUCache<string, Stat>;
  private readonly enabled: boolean;

  constructor(ttlMs: number, max = 100_000) {
    this.cache = new LRUCache<string, Stat>({ max, ttl: Math.max(ttlMs, 1), ttlAutopurge: false, allowStale: false });
    this.enabled = ttlMs > 0;
  }

  get(path: string): Stat | undefined {
    return this.enabled ? this.cache.get(path) : undefined;
  }

  set(st: Stat): void {
    if (this.enabled) this.cache.set(st.path, st);
  }

  delete(path: string): void {
    this.cache.delete(path);
  }

  /** Drops `path` and everything below it (a folder was moved or removed). */
  deleteTree(path: string): void {
    this.cache.delete(path);
    for (const key of [...this.cache.keys()]) if (isSameOrInside(key, path)) this.cache.delete(key);
  }
}
