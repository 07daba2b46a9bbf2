// Content-defined chunking and SHA-256 of a byte stream on a worker thread: the event loop only
// copies the incoming bytes into slabs and hands them over, and gets back chunks ready to store.
//
// Why: a FUSE write of 1 GiB spent ~2 s of the event loop in the chunker (cutPoint 1.26 s, copying
// chunks out 0.62 s; CPU profile in the issue 5 note) on the same thread that answers every FUSE
// request and drives the uploads. On a worker the cut and the hash run beside that work.
//
// The worker runs the source text of fastcdc.ts's scanCuts (and the functions it calls), which
// chunkStream uses on the event loop, so both cut at the same boundaries (test/unit/chunk-worker.test.ts
// compares them).
//
// Chunks come back in memory of their own, transferred, not in SharedArrayBuffers: V8 maps every
// SharedArrayBuffer fresh and unmaps it when collected, so each 4 KiB page of every chunk cost a
// page fault (262,000 per GiB in a micro-benchmark whatever the malloc settings; ~9 µs each on
// these VMs), where malloc'd memory is reused under the settings src/cli/malloc-tuning.ts gives.
// A 1 GiB dd write through the write-back mount (source read from disk after drop_caches; new
// bytes for every run, so no run is deduplicated against another), 5 interleaved runs each:
// 202-287 → 241-303 MiB/s (medians 213 → 272), mount CPU 5.4-6.9 → 4.5-5.0 s, page faults
// 126,000-137,000 → 63,000-67,000. The hash is computed here, so nothing needs these chunks in
// shared memory.
import { Worker } from 'node:worker_threads';
import { takeOver } from '../core/shared-memory.js';
import { cutRule, emitChunk, gearTable, newScan, scanCuts, scanRun, type ChunkingParams, type CutRule } from './fastcdc.js';

/**
 * Bytes the event loop gathers before handing them to the worker (one message each), or maxSize
 * if smaller: with small chunks, chunks are cut (and uploaded) after as little input as before.
 */
const SLAB = 1 << 20;
/** Slabs handed over and not yet answered, per stream: bounds the memory a fast source can fill. */
const SLABS_IN_FLIGHT = 4;

/** A chunk as the worker cut it: bytes in memory of its own (one ArrayBuffer each) and their lowercase hex SHA-256. */
export interface HashedChunk {
  chunk: Buffer;
  hash: string;
}

type ToWorker =
  | { op: 'open'; sid: number; rule: CutRule }
  | { op: 'data'; sid: number; buffer: ArrayBuffer; length: number }
  | { op: 'end'; sid: number }
  | { op: 'close'; sid: number };

interface FromWorker {
  sid: number;
  chunks: { buffer: ArrayBuffer; hash: string }[];
  done: boolean;
  error?: string;
}

/**
 * Plain CommonJS, evaluated (as hash-worker.ts does): no file to locate beside the built or the
 * tsx-run module. `__name` stands in for the helper esbuild (tsx) may call inside compiled bodies.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
var __name = (f) => f;
${newScan.toString()}
${scanRun.toString()}
${scanCuts.toString()}
${emitChunk.toString()}
const gear = new Int32Array(workerData.gear);
const streams = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'open') { streams.set(m.sid, { scan: newScan(), rule: m.rule }); return; }
  const s = streams.get(m.sid);
  if (m.op === 'close' || s === undefined) { streams.delete(m.sid); return; }
  const chunks = [];
  const transfer = [];
  const emit = (pieces, length) => {
    // Memory of its own from malloc (not a SharedArrayBuffer: see the top of chunk-worker.ts).
    const out = Buffer.allocUnsafeSlow(length);
    let at = 0;
    for (const piece of pieces) { out.set(piece, at); at += piece.length; }
    chunks.push({ buffer: out.buffer, hash: createHash('sha256').update(out).digest('hex') });
    transfer.push(out.buffer);
  };
  const last = m.op === 'end';
  try {
    // The scan keeps views of the inputs until their chunk is cut: they were transferred here, so
    // nobody else writes to them.
    scanCuts(s.scan, last ? new Uint8Array(0) : new Uint8Array(m.buffer, 0, m.length), last, s.rule, gear, emit);
  } catch (err) {
    streams.delete(m.sid);
    parentPort.postMessage({ sid: m.sid, chunks: [], done: true, error: String(err && err.stack || err) });
    return;
  }
  if (last) streams.delete(m.sid);
  parentPort.postMessage({ sid: m.sid, chunks, done: last }, transfer);
});
`;

/** One stream's answers, in order, and the reader waiting for the next. */
interface StreamSlot {
  answers: FromWorker[];
  wake: (() => void) | undefined;
  failure: Error | undefined;
}

/** The one chunking thread (a second core is all these machines have), started on first use. */
class ChunkWorker {
  private worker: Worker | undefined;
  private readonly streams = new Map<number, StreamSlot>();
  private nextSid = 1;

  open(rule: CutRule): { sid: number; slot: StreamSlot } {
    const worker = this.started();
    const sid = this.nextSid++;
    const slot: StreamSlot = { answers: [], wake: undefined, failure: undefined };
    if (this.streams.size === 0) worker.ref();
    this.streams.set(sid, slot);
    this.post({ op: 'open', sid, rule });
    return { sid, slot };
  }

  post(message: ToWorker, transfer?: ArrayBuffer[]): void {
    this.started().postMessage(message, transfer);
  }

  /** The stream is over (ended or abandoned): the worker forgets it, and an idle worker is unref'd. */
  close(sid: number, tellWorker: boolean): void {
    if (!this.streams.delete(sid)) return;
    if (tellWorker) this.post({ op: 'close', sid });
    if (this.streams.size === 0) this.worker?.unref();
  }

  private started(): Worker {
    if (this.worker !== undefined) return this.worker;
    // execArgv []: none of the parent's flags (hash-worker.ts says why).
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { gear: gearTable().buffer } });
    worker.unref();
    worker.on('message', (answer: FromWorker) => {
      const slot = this.streams.get(answer.sid);
      if (slot === undefined) return;
      slot.answers.push(answer);
      slot.wake?.();
    });
    // A worker that dies fails every open stream; the next stream starts a new one.
    const fail = (err: Error): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const slot of this.streams.values()) {
        slot.failure = err;
        slot.wake?.();
      }
      this.streams.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`chunk worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

const chunker = new ChunkWorker();

/**
 * Cuts `source` into the chunks chunkStream would cut, each with its SHA-256, on the worker.
 * Reads the source ahead of the consumer by at most SLABS_IN_FLIGHT slabs.
 */
export async function* chunkAndHash(source: AsyncIterable<Uint8Array>, params: ChunkingParams): AsyncGenerator<HashedChunk> {
  const rule = cutRule(params); // validates before the first byte arrives
  const slabSize = Math.min(SLAB, rule.maxSize);
  const { sid, slot } = chunker.open(rule);
  let inFlight = 0;
  let finished = false;
  let slab: Buffer | undefined;
  let filled = 0;

  const send = (): void => {
    if (slab === undefined || filled === 0) return;
    chunker.post({ op: 'data', sid, buffer: slab.buffer as ArrayBuffer, length: filled }, [slab.buffer as ArrayBuffer]);
    inFlight++;
    slab = undefined;
    filled = 0;
  };
  /** The next answer, waiting for it; its chunks as Buffers. */
  const answer = async (): Promise<HashedChunk[]> => {
    while (slot.answers.length === 0 && slot.failure === undefined) await new Promise<void>((resolve) => (slot.wake = resolve));
    slot.wake = undefined;
    if (slot.failure !== undefined) throw slot.failure;
    const a = slot.answers.shift()!;
    inFlight--;
    if (a.error !== undefined) throw new Error(`chunk worker: ${a.error}`);
    if (a.done) finished = true;
    return a.chunks.map((c) => ({ chunk: Buffer.from(c.buffer), hash: c.hash }));
  };

  try {
    for await (const input of source) {
      // Memory its producer gave up (FUSE write slabs) goes to the worker as it is: no copy.
      const own = input.length >= slabSize / 2 ? takeOver(input) : undefined;
      if (own !== undefined) {
        send();
        chunker.post({ op: 'data', sid, buffer: own, length: input.length }, [own]);
        inFlight++;
        while (inFlight >= SLABS_IN_FLIGHT) yield* await answer();
      }
      for (let off = own === undefined ? 0 : input.length; off < input.length; ) {
        // Its own ArrayBuffer (not Node's pool), since it is transferred to the worker.
        slab ??= Buffer.allocUnsafeSlow(slabSize);
        const n = Math.min(slabSize - filled, input.length - off);
        slab.set(input.subarray(off, off + n), filled);
        filled += n;
        off += n;
        if (filled === slabSize) send();
        while (inFlight >= SLABS_IN_FLIGHT) yield* await answer();
      }
      // Chunks already cut go to the consumer without waiting for the worker.
      while (slot.answers.length > 0) yield* await answer();
    }
    send();
    chunker.post({ op: 'end', sid });
    inFlight++;
    while (!finished) yield* await answer();
  } finally {
    // Ended, failed, or abandoned by the consumer: the worker drops the stream's pieces either way.
    chunker.close(sid, !finished);
  }
}
