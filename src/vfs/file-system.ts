// The file-system interface both fronts program against. Three implementations:
//   - Vfs (vfs.ts): the whole tree of one store, in process;
//   - UserFileSystem (tenancy/): one user's view, their home with shared folders mounted in it,
//     rights and quota enforced, paths mapped in and out;
//   - RemoteFileSystem (remote/): a WebDAV server over HTTP (the FUSE front's remote mode).
// One contract suite (test/contract/file-system.contract.ts) runs against each of them.
import type { ByteRange, ByteSource, DeadProp, PropPatch, Stat, WriteOptions, WriteResult } from './types.js';

/** Space used and left where a path lives (RFC 4331 quota-used-bytes / quota-available-bytes). */
export interface Usage {
  usedBytes: number;
  /** Bytes that may still be written; null when no quota applies. */
  availableBytes: number | null;
}

export interface SetAttributes {
  mtimeMs?: number;
  mode?: number | null;
  uid?: number | null;
  gid?: number | null;
}

/** One version of a file, read into the caller's buffers (FileSystem.openReader). */
export interface FileReader {
  readonly stat: Stat;
  /** Copies bytes [pos, pos+len) into `buf` at `at`; returns the count, short at the end of the file. */
  readInto(buf: Buffer, at: number, pos: number, len: number): Promise<number>;
}

export interface FileSystem {
  stat(path: string): Promise<Stat>;
  /** Stat, or undefined when nothing is at the path (a missing parent is still an error). */
  tryStat(path: string): Promise<Stat | undefined>;
  /** Entries of a folder in name order, streamed (folders may hold millions). */
  list(path: string): AsyncGenerator<Stat>;
  /** Bytes of a file; `range` is inclusive and must lie within the file. */
  read(path: string, range?: ByteRange): Promise<{ stat: Stat; body: AsyncGenerator<Buffer> }>;
  /**
   * The file as it is now, for many small reads into buffers of the caller's (FUSE requests).
   * Optional: where it is missing, a front reads ranges with read().
   */
  openReader?(path: string): Promise<FileReader>;
  /** Replaces (or creates) a file with the bytes of `source`, atomically. */
  write(path: string, source: ByteSource, opts?: WriteOptions): Promise<WriteResult>;
  /** Writes `length` bytes at `offset` (creating the file, zero-filling any gap), atomically. */
  writeRange(path: string, offset: number, length: number, source: ByteSource, opts?: WriteOptions): Promise<WriteResult>;
  truncate(path: string, size: number): Promise<Stat>;
  mkdir(path: string, opts?: { parents?: boolean }): Promise<Stat>;
  remove(path: string, opts?: { recursive?: boolean }): Promise<void>;
  move(from: string, to: string, opts?: { overwrite?: boolean }): Promise<{ stat: Stat; replaced: boolean }>;
  copy(from: string, to: string, opts?: { overwrite?: boolean; recursive?: boolean }): Promise<{ stat: Stat; replaced: boolean }>;
  setAttributes(path: string, attrs: SetAttributes): Promise<Stat>;
  getProps(path: string): Promise<DeadProp[]>;
  /** Dead properties of nodes already resolved, by Stat.id (one query per PROPFIND page). */
  propsOf(stats: Stat[]): Promise<Map<number, DeadProp[]>>;
  /** All operations or none (RFC 4918 §9.2). */
  patchProps(path: string, ops: PropPatch[]): Promise<void>;
  /** Space used and available for the tree `path` is in; cheap (Finder asks on every mount). */
  usage(path: string): Promise<Usage>;
  /**
   * Makes every change acknowledged so far durable (fsync(2) on the FUSE mount); cheap when
   * nothing waits. A front whose store commits durably (the default, and WebDAV's) never needs it.
   */
  sync(): Promise<void>;
}
