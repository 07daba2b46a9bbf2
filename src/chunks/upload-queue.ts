// Bounded-parallel chunk uploads for one writer, with backpressure and stop-at-first-failure.
import type { ChunkStore } from './chunk-store.js';

/**
 * Runs uploads with bounded parallelism for one writer. add() waits while `concurrency` uploads
 * are in flight (backpressure: a fast client cannot pile chunks up in memory), drain() waits for
 * all of them. After the first failure no new upload starts: add() and drain() reject with it.
 */
export class UploadQueue {
  private readonly active = new Set<Promise<void>>();
  private readonly waiters: (() => void)[] = [];
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly chunks: ChunkStore,
    readonly concurrency = 4,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`upload concurrency must be a positive integer, got ${concurrency}`);
    }
  }

  /** Starts the upload once a slot is free; resolves when it has started, not when it is done. */
  async add(hash: string, data: Uint8Array, alreadyStored = false): Promise<void> {
    while (this.failure === undefined && this.active.size >= this.concurrency) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.failure !== undefined) throw this.failure.error;
    const run: Promise<void> = this.chunks
      .upload(hash, data, { alreadyStored })
      .catch((error: unknown) => {
        this.failure ??= { error };
        // Every waiting add() must see the failure now, not after a slot frees.
        for (const wake of this.waiters.splice(0)) wake();
      })
      .finally(() => {
        this.active.delete(run);
        this.waiters.shift()?.();
      });
    this.active.add(run);
  }

  /** Waits for every started upload; rejects with the first failure. */
  async drain(): Promise<void> {
    while (this.active.size > 0) await Promise.all([...this.active]);
    if (this.failure !== undefined) throw this.failure.error;
  }

  /** Uploads in flight. */
  get size(): number {
    return this.active.size;
  }
}
