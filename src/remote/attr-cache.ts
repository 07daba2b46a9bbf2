// The attribute cache: what PROPFIND said about a path (or that nothing is there), trusted for a
// short TTL (default 1 s, like NFS's actimeo) so FUSE's stream of lookups and getattrs does not
// become a stream of requests. Every change made through this client drops the entries it touches;
// changes made by others show after at most the TTL.
import { LRUCache } from 'lru-cache';
import { parentOf } from '../core/paths.js';
import { within } from './path-ids.js';
import type { RemoteEntry } from './remote-stat.js';

/** A known entry, or `null` for a path known to be unmapped. */
export type Cached = RemoteEntry | null;

export class AttrCache {
  private readonly entries: LRUCache<string, { value: Cached }> | undefined;

  constructor(ttlMs: number, maxEntries = 100_000) {
    this.entries = ttlMs > 0 ? new LRUCache({ max: maxEntries, ttl: ttlMs }) : undefined;
  }

  /** The cached answer, or undefined when the server must be asked. */
  get(path: string): Cached | undefined {
    return this.entries?.get(path)?.value;
  }

  set(path: string, value: Cached): void {
    this.entries?.set(path, { value });
  }

  /** Drops `path` and its parent (whose mtime and membership a change alters). */
  touch(path: string): void {
    this.entries?.delete(path);
    this.entries?.delete(parentOf(path));
  }

  /** Drops `path`, everything below it, and its parent: a folder removed, moved or replaced. */
  touchTree(path: string): void {
    if (!this.entries) return;
    for (const p of [...this.entries.keys()]) if (within(p, path)) this.entries.delete(p);
    this.entries.delete(parentOf(path));
  }

  clear(): void {
    this.entries?.clear();
  }
}
