// A ByteSource fed from outside: FUSE write requests push their bytes, FileSystem.write pulls
// them. push() resolves once the queue is below its bound, so a writer faster than the store is
// held back (the kernel waits for each write reply) without buffering the whole file in memory.
//
// Pushed bytes are copied into slabs of 1 MiB (the caller's buffer is only borrowed: FUSE reuses
// it), and the consumer gets whole slabs: one allocation per MiB instead of one per 128 KiB write
// request, which the garbage collector had to follow (1.7 s of GC per GiB written, CPU profile in
// the issue 5 note). A partly filled slab is handed over at the end, or when the producer waits.

import { handOver } from '../core/shared-memory.js';

/** Size of the slabs after the first; the first is small, as most files written are. */
const SLAB = 1 << 20;
const FIRST_SLAB = 64 << 10;

export class PushSource implements AsyncIterable<Uint8Array> {
  private readonly queue: Buffer[] = [];
  /** Bytes pushed and not yet taken: the queue and the slab being filled. */
  private queued = 0;
  private slab: Buffer | undefined;
  private filled = 0;
  private slabs = 0;
  private ended = false;
  private failure: Error | undefined;
  private wakeConsumer: (() => void) | undefined;
  private readonly producers: { resolve: () => void; reject: (err: Error) => void }[] = [];

  /** `highWater`: bytes buffered before push() waits. */
  constructor(private readonly highWater: number) {}

  /** Copies `data` (the caller may reuse it at once) and resolves when there is room again. */
  push(data: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.reject(new Error('push after end'));
    for (let off = 0; off < data.length; ) {
      this.slab ??= Buffer.allocUnsafeSlow(this.slabs++ === 0 ? FIRST_SLAB : SLAB);
      const n = Math.min(this.slab.length - this.filled, data.length - off);
      this.slab.set(data.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
      if (this.filled === this.slab.length) this.seal();
    }
    this.queued += data.length;
    if (this.queue.length > 0 || this.queued > this.highWater) this.wake();
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
    this.slab = undefined;
    this.filled = 0;
    this.queued = 0;
    for (const p of this.producers.splice(0)) p.reject(this.failure);
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.failure) throw this.failure;
      // A part-filled slab goes only when nothing more will come or the producer is held back.
      if (this.queue.length === 0 && (this.ended || this.queued > this.highWater)) this.seal();
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

  /** Queues the slab being filled (what of it is filled). */
  private seal(): void {
    if (this.slab === undefined || this.filled === 0) return;
    // Nothing here touches a slab again once queued: the chunker may transfer it to its worker.
    this.queue.push(handOver(this.slab.subarray(0, this.filled)) as Buffer);
    this.slab = undefined;
    this.filled = 0;
  }

  private wake(): void {
    const w = this.wakeConsumer;
    this.wakeConsumer = undefined;
    w?.();
  }
}
