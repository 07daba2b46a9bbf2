// An ObjectStore wrapper for write-back tests: PUTs can be refused (a store that is down) or held
// (a slow store) at will, and are counted; everything else goes to the wrapped store.
import type { Readable } from 'node:stream';
import type { GetOptions, ObjectInfo, ObjectStore, PutOptions } from '../../src/store/object-store.js';
import { MemoryObjectStore } from '../../src/store/memory-store.js';

export class FlakyStore implements ObjectStore {
  readonly description = 'flaky wrapper';
  /** PUTs reject while this is true. */
  down = false;
  /** When set, PUTs wait for it before doing anything. */
  hold: Promise<void> | undefined;
  puts = 0;
  failedPuts = 0;
  activePuts = 0;
  maxActivePuts = 0;

  constructor(readonly inner: ObjectStore = new MemoryObjectStore()) {}

  async open(): Promise<void> {
    await this.inner.open();
  }

  async put(key: string, body: Buffer, options?: PutOptions): Promise<void> {
    this.puts++;
    this.maxActivePuts = Math.max(this.maxActivePuts, ++this.activePuts);
    try {
      await this.hold;
      if (this.down) {
        this.failedPuts++;
        throw new Error(`store is down (PUT ${key})`);
      }
      await this.inner.put(key, body, options);
    } finally {
      this.activePuts--;
    }
  }

  get(key: string, options?: GetOptions): Promise<Buffer> {
    return this.inner.get(key, options);
  }

  getStream(key: string): Promise<Readable> {
    return this.inner.getStream(key);
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.head(key);
  }

  delete(keys: string[]): Promise<void> {
    return this.inner.delete(keys);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }

  async close(): Promise<void> {
    await this.inner.close();
  }

  /** Keys under `prefix`, e.g. 'chunks/'. */
  async keys(prefix = 'chunks/'): Promise<string[]> {
    const out: string[] = [];
    for await (const info of this.inner.list(prefix)) out.push(info.key);
    return out;
  }
}

/** A promise and the function that resolves it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Polls until `condition` holds. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
