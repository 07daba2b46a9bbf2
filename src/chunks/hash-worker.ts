// SHA-256 of chunks in shared memory on a worker thread, so the event loop pays neither the hash
// nor a copy.
//
// Why not WebCrypto's digest on libuv's thread pool: it copies its input on the calling thread
// first, and that copy (fresh pages for each 1 MiB chunk) cost the event loop as much as hashing
// there would: 0.86 s per GiB read through the FUSE mount, against 0.8 s for createHash on the
// event loop (CPU profile, cold read of 1 GiB from s3rver). A worker can read a SharedArrayBuffer
// in place, so chunks the chunker cuts and bodies the S3 store receives are allocated in shared
// memory (core/shared-memory.ts), and their hash costs the event loop one message each way.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Plain CommonJS, evaluated: no file to locate next to the built or the tsx-run module. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ id, buffer, offset, length }) => {
  const hex = createHash('sha256').update(new Uint8Array(buffer, offset, length)).digest('hex');
  parentPort.postMessage({ id, hex });
});
`;

interface Pending {
  resolve(hex: string): void;
  reject(err: Error): void;
}

/**
 * A small pool of hashing threads, started on first use. Idle workers do not keep the process
 * alive (unref'd); a worker with hashes pending does, so a CLI awaiting one cannot exit early.
 */
class HashWorkers {
  private readonly workers: { worker: Worker; pending: Map<number, Pending> }[] = [];
  private nextId = 0;
  private turn = 0;

  constructor(private readonly size: number) {}

  sha256(data: Uint8Array): Promise<string> {
    const slot = this.slot();
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, buffer: data.buffer, offset: data.byteOffset, length: data.byteLength });
    });
  }

  private slot(): { worker: Worker; pending: Map<number, Pending> } {
    if (this.workers.length < this.size) {
      const pending = new Map<number, Pending>();
      // execArgv []: none of the parent's flags (--input-type=module would make this CommonJS
      // source an ES module; --import tsx would load a compiler the worker has no use for).
      const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
      worker.unref();
      const entry = { worker, pending };
      worker.on('message', ({ id, hex }: { id: number; hex: string }) => {
        const p = pending.get(id);
        pending.delete(id);
        if (pending.size === 0) worker.unref();
        p?.resolve(hex);
      });
      // A worker that dies fails what it held; the next hash starts a new one in its place.
      const fail = (err: Error) => {
        const at = this.workers.indexOf(entry);
        if (at >= 0) this.workers.splice(at, 1);
        for (const p of pending.values()) p.reject(err);
        pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`hash worker exited with code ${code}`)));
      this.workers.push(entry);
      return entry;
    }
    return this.workers[this.turn++ % this.workers.length]!;
  }
}

/** One worker on two cores: the event loop keeps the other. */
const workers = new HashWorkers(Math.max(1, Math.min(4, availableParallelism() - 1)));

/** The lowercase hex SHA-256 of bytes in shared memory, computed on a worker thread. */
export function sha256InWorker(data: Uint8Array): Promise<string> {
  return workers.sha256(data);
}
