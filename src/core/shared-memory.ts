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
