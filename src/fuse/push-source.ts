// A ByteSource fed from outside: FUSE write requests push their bytes, FileSystem.write pulls
// them. push() resolves once the queue is below its bound, so a writer faster than the store is
// held back (the kernel waits for each write reply) without buffering the whole file in memory.

export class PushSource implements AsyncIterable<Uint8Array> {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: Error | undefined;
  private wakeConsumer: (() => void) | undefined;
  private readonly producers: { resolve: () => void; reject: (err: Error) => void }[] = [];

  /** `highWater`: bytes buffered before push() waits. */
  constructor(private readonly highWater: number) {}

  /** Queues `data` (owned by the source from now on) and resolves when there is room again. */
  push(data: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.reject(new Error('push after end'));
    this.queue.push(data);
    this.queued += data.length;
    this.wake();
    if (this.queued <= this.highWater) return Promise.resolve();
    return new Promise((resolve, reject) => this.producers.push({ resolve, reject }));
  }

  /** No more data: the consumer sees the end once it has taken what is queued. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** The consumer stopped (its write failed): waiting and later pushes reject with `err`. */
  fail(err: Error): void {
    this.failure ??= err;
    this.queue.length = 0;
    this.queued = 0;
    for (const p of this.producers.splice(0)) p.reject(this.failure);
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.failure) throw this.failure;
      const next = this.queue.shift();
      if (next) {
        this.queued -= next.length;
        if (this.queued <= this.highWater) for (const p of this.producers.splice(0)) p.resolve();
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
    }
  }

  private wake(): void {
    const w = this.wakeConsumer;
    this.wakeConsumer = undefined;
    w?.();
  }
}
