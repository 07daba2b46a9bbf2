// An ObjectStore in a Map, for unit tests: same semantics as the real stores, nothing durable.
import { Readable } from 'node:stream';
import { FsError } from '../core/errors.js';
import type { GetOptions, ObjectInfo, ObjectStore } from './object-store.js';
import { checkRange, compareKeys } from './store-keys.js';

interface StoredObject {
  data: Buffer;
  mtimeMs: number;
}

export class MemoryObjectStore implements ObjectStore {
  readonly description = 'memory';
  private readonly objects = new Map<string, StoredObject>();

  async open(): Promise<void> {}

  async put(key: string, body: Buffer): Promise<void> {
    checkKeyNotEmpty(key);
    // A copy: the caller may reuse its buffer, and stored bytes must not change behind our back.
    this.objects.set(key, { data: Buffer.from(body), mtimeMs: Date.now() });
  }

  async get(key: string, options?: GetOptions): Promise<Buffer> {
    const object = this.lookup(key);
    if (options?.range === undefined) return Buffer.from(object.data);
    const { start, end } = options.range;
    checkRange(key, start, end, object.data.length);
    return Buffer.from(object.data.subarray(start, end + 1));
  }

  async getStream(key: string): Promise<Readable> {
    // Byte mode like a file or HTTP stream (Readable.from defaults to object mode).
    return Readable.from([Buffer.from(this.lookup(key).data)], { objectMode: false });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const object = this.objects.get(key);
    return object === undefined ? undefined : { key, size: object.data.length, mtimeMs: object.mtimeMs };
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) this.objects.delete(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Snapshot the matching keys first: the caller may put or delete while iterating.
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort(compareKeys);
    for (const key of keys) {
      const info = await this.head(key);
      if (info !== undefined) yield info;
    }
  }

  async close(): Promise<void> {}

  /** Number of stored objects, for tests. */
  get size(): number {
    return this.objects.size;
  }

  private lookup(key: string): StoredObject {
    const object = this.objects.get(key);
    if (object === undefined) throw new FsError('ENOENT', `no object ${JSON.stringify(key)}`);
    return object;
  }
}

function checkKeyNotEmpty(key: string): void {
  if (key === '') throw new FsError('EINVAL', 'empty object key');
}
