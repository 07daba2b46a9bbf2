// The object-store contract: a flat key → bytes map, all that chunks and metadata snapshots need.
// Implementations: memory (unit tests), local directory (the embedded default), S3 (AWS and
// S3-compatible servers). test/contract/object-store.contract.ts runs against every one of them.
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  /** Last modification time in ms since the epoch (used by GC's grace period). */
  mtimeMs: number;
}

export interface GetOptions {
  /**
   * Inclusive byte range within the object; both ends must lie inside it, otherwise get() throws
   * FsError('EINVAL') (S3 itself would shorten a range that runs past the end).
   */
  range?: { start: number; end: number };
  /**
   * A buffer to read the bytes into when they fit (the result is then a view of it), so a caller
   * that reuses its buffers (chunk downloads) touches no fresh memory; otherwise ignored.
   */
  into?: Buffer;
}

export interface PutOptions {
  /**
   * The lowercase hex SHA-256 of the body, when the caller knows it already (chunks are named by
   * it). A store may hand it to the server to verify instead of hashing the body again.
   */
  sha256?: string;
}

export interface ObjectStore {
  /** Short description for logs, never containing secrets. */
  readonly description: string;

  /**
   * Checks at start that the store is reachable and usable (bucket exists, credentials work), and
   * throws an FsError('EIO') with a message an operator can act on otherwise.
   */
  open(): Promise<void>;

  /**
   * Stores `body` under `key`, replacing any object there. Resolves only once the object is
   * durable. Must be safe to repeat: a PUT reported as failed may have landed (measured with S3).
   */
  put(key: string, body: Buffer, options?: PutOptions): Promise<void>;

  /**
   * The whole object (or the range) as bytes. Throws FsError('ENOENT') when the key is missing.
   * Implementations check the length they received and retry a body that broke off (the AWS SDK
   * does not), so a resolved value is always complete.
   */
  get(key: string, options?: GetOptions): Promise<Buffer>;

  /** A stream of the object, for large objects such as metadata snapshots. */
  getStream(key: string): Promise<Readable>;

  /** Size and time of the object, or undefined when it is missing. */
  head(key: string): Promise<ObjectInfo | undefined>;

  /** Deletes the keys; missing keys are not an error. */
  delete(keys: string[]): Promise<void>;

  /**
   * Every object whose key starts with `prefix`, in key order (the binary order of the keys' UTF-8
   * bytes, as S3 lists them; see compareKeys in store-keys.ts), fetched page by page.
   */
  list(prefix: string): AsyncIterable<ObjectInfo>;

  /** Releases sockets and handles. */
  close(): Promise<void>;
}
