// Buffers in shared memory: a worker thread can read them in place (chunks/hash-worker.ts hashes
// them there), where an ordinary Buffer would have to be copied or transferred away.

/** A Buffer over a new SharedArrayBuffer: usable everywhere a Buffer is, hashable in place. */
export function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

/** True when `data` lies in shared memory. */
export function isShared(data: Uint8Array): boolean {
  return data.buffer instanceof SharedArrayBuffer;
}

/** The bytes of `parts` (`total` of them) gathered into one shared Buffer. */
export function concatShared(parts: readonly Uint8Array[], total: number): Buffer {
  const out = sharedBuffer(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Memory a producer gives up with the bytes it yields (a stream's slabs nobody else holds): a
 * consumer may transfer it to a worker instead of copying it. Marked by its ArrayBuffer.
 */
const handedOver = new WeakSet<ArrayBuffer>();

/** Marks `data`'s whole ArrayBuffer as given up by its producer (it must hold no other view). */
export function handOver(data: Uint8Array): Uint8Array {
  if (data.buffer instanceof ArrayBuffer) handedOver.add(data.buffer);
  return data;
}

/** The ArrayBuffer of `data` when it was handed over and `data` starts at its beginning. */
export function takeOver(data: Uint8Array): ArrayBuffer | undefined {
  const buffer = data.buffer;
  if (!(buffer instanceof ArrayBuffer) || data.byteOffset !== 0 || !handedOver.delete(buffer)) return undefined;
  return buffer;
}
