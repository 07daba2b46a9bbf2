// The local block cache of remote file contents: fixed-size blocks on disk under
// `<dir>/<key[0..2]>/<key>.<index>`, where the key names one version of one file (server URL, path
// and ETag), indexed in memory by lru-cache and bounded in bytes, with the most recently used
// blocks also kept in memory (a FUSE reader asks for 128 KiB at a time: eight reads of each 1 MiB
// block should not read it from disk eight times). A block file is written under a temporary name
// and renamed, so a file with a final name is always whole; blocks left by an earlier session are
// indexed again at open (oldest first) and serve the same versions again.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';

export interface BlockCacheStats {
  blocks: number;
  bytes: number;
  maxBytes: number;
  hits: number;
  misses: number;
}

/** The key of one version of one file: a hash, so any path and ETag make a safe file name. */
export function versionKey(server: string, path: string, etag: string): string {
  return createHash('sha256').update(`${server}\n${path}\n${etag}`).digest('hex').slice(0, 40);
}

export class BlockCache {
  /** Block file name (`<key>.<index>`) → bytes. */
  private readonly index: LRUCache<string, number>;
  /** The hottest blocks' bytes, by block file name; always a subset of `index`. */
  private readonly memory: LRUCache<string, Buffer>;
  /** Version key → its block indexes in the cache, so a stale version can be dropped at once. */
  private readonly versions = new Map<string, Set<number>>();
  private readonly writes = new Set<Promise<void>>();
  private readonly deletes = new Set<Promise<void>>();
  private hits = 0;
  private misses = 0;

  private constructor(
    private readonly dir: string,
    readonly maxBytes: number,
    memoryBytes: number,
  ) {
    this.memory = new LRUCache<string, Buffer>({ maxSize: Math.max(memoryBytes, 1), sizeCalculation: (b) => Math.max(b.length, 1) });
    this.index = new LRUCache<string, number>({
      maxSize: Math.max(maxBytes, 1),
      sizeCalculation: (n) => Math.max(n, 1),
      dispose: (_size, name, reason) => {
        if (reason === 'set') return; // the same block stored again: the file is already the new one
        this.memory.delete(name);
        this.forgetName(name);
        this.deleteFile(name);
      },
    });
  }

  /** `memoryBytes` of the most recently used blocks are also kept in memory (default 32 MiB). */
  static async open(dir: string, maxBytes: number, memoryBytes = 32 * 1024 * 1024): Promise<BlockCache> {
    const cache = new BlockCache(dir, maxBytes, Math.min(memoryBytes, maxBytes));
    await mkdir(dir, { recursive: true });
    await cache.rescan();
    return cache;
  }

  /** The block, or undefined when it is not cached (or its file is not `length` bytes). */
  async get(version: string, i: number, length: number): Promise<Buffer | undefined> {
    const name = `${version}.${i}`;
    if (this.index.get(name) === undefined) {
      this.misses++;
      return undefined;
    }
    const hot = this.memory.get(name);
    if (hot?.length === length) {
      this.hits++;
      return hot;
    }
    try {
      const data = await readFile(this.fileOf(name));
      if (data.length === length) {
        this.hits++;
        this.memory.set(name, data);
        return data;
      }
    } catch {
      // evicted meanwhile, or removed behind our back: a miss
    }
    this.index.delete(name);
    this.misses++;
    return undefined;
  }

  /** Stores a block; resolves once it is on disk (callers need not wait). Failures only lose the block. */
  put(version: string, i: number, data: Buffer): Promise<void> {
    if (data.length > this.maxBytes) return Promise.resolve();
    const name = `${version}.${i}`;
    const file = this.fileOf(name);
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    const write = (async () => {
      try {
        await mkdir(join(this.dir, version.slice(0, 2)), { recursive: true });
        await writeFile(tmp, data);
        await rename(tmp, file);
        this.remember(name, data.length);
        if (this.index.has(name)) this.memory.set(name, data);
        // The blocks this one evicted are gone from disk once put() resolves: the cache's files
        // stay within its byte limit, not just its index.
        await Promise.all([...this.deletes]);
      } catch {
        await unlink(tmp).catch(() => undefined);
      }
    })();
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
    return write;
  }

  /** Whether a block is cached, without touching its recency or reading it. */
  has(version: string, i: number): boolean {
    return this.index.has(`${version}.${i}`);
  }

  /** Drops every block of a version (the file changed or went away). */
  dropVersion(version: string): void {
    const blocks = this.versions.get(version);
    if (!blocks) return;
    for (const i of [...blocks]) this.index.delete(`${version}.${i}`);
    this.versions.delete(version);
  }

  /** Waits for block writes in flight. */
  async close(): Promise<void> {
    await Promise.all([...this.writes]);
    await Promise.all([...this.deletes]);
  }

  stats(): BlockCacheStats {
    return { blocks: this.index.size, bytes: this.index.calculatedSize, maxBytes: this.maxBytes, hits: this.hits, misses: this.misses };
  }

  private fileOf(name: string): string {
    return join(this.dir, name.slice(0, 2), name);
  }

  private remember(name: string, size: number): void {
    this.index.set(name, size);
    if (!this.index.has(name)) {
      this.deleteFile(name); // larger than the whole cache
      return;
    }
    const dot = name.lastIndexOf('.');
    const version = name.slice(0, dot);
    let blocks = this.versions.get(version);
    if (!blocks) this.versions.set(version, (blocks = new Set()));
    blocks.add(Number(name.slice(dot + 1)));
  }

  /** Unlinks a block's file; put() and close() wait for these. A failure only leaves a file the next rescan indexes. */
  private deleteFile(name: string): void {
    const done: Promise<void> = unlink(this.fileOf(name))
      .catch(() => undefined)
      .finally(() => this.deletes.delete(done));
    this.deletes.add(done);
  }

  private forgetName(name: string): void {
    const dot = name.lastIndexOf('.');
    const version = name.slice(0, dot);
    const blocks = this.versions.get(version);
    blocks?.delete(Number(name.slice(dot + 1)));
    if (blocks?.size === 0) this.versions.delete(version);
  }

  /** Indexes the blocks a previous session left, least recently written first; drops torn temporaries. */
  private async rescan(): Promise<void> {
    const found: { name: string; size: number; mtimeMs: number }[] = [];
    for (const sub of await readdir(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(sub)) continue;
      for (const name of await readdir(join(this.dir, sub))) {
        const file = join(this.dir, sub, name);
        if (name.endsWith('.tmp')) {
          await rm(file, { force: true });
          continue;
        }
        if (!/^[0-9a-f]{40}\.\d+$/.test(name)) continue;
        const st = await stat(file).catch(() => undefined);
        if (st) found.push({ name, size: st.size, mtimeMs: st.mtimeMs });
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of found) this.remember(f.name, f.size);
  }
}
