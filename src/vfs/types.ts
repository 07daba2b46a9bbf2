// Shapes the Vfs hands to its fronts: what a file or folder looks like, and the write options.
import type { NodeKind } from '../meta/meta-store.js';

export interface Stat {
  /** Normalised path, `/` for the root. */
  path: string;
  name: string;
  kind: NodeKind;
  /** Stable id while the node exists (inode number for FUSE). */
  id: number;
  size: number;
  /** Strong ETag (unquoted) of a file's content; null for folders. */
  etag: string | null;
  mtimeMs: number;
  birthMs: number;
  ctimeMs: number;
  contentType: string | null;
  mode: number | null;
  uid: number | null;
  gid: number | null;
}

/**
 * A byte limit on a subtree (a user's quota on their home): a write, truncate, move or copy that
 * makes the logical bytes under `root` grow past `maxBytes` fails with ENOSPC and changes
 * nothing. A change that shrinks or keeps the usage is allowed even above the limit.
 */
export interface QuotaLimit {
  /** The limited subtree, a tree path; it must exist. */
  root: string;
  maxBytes: number;
}

export interface WriteOptions {
  /** Last-modified time to record (default: now). */
  mtimeMs?: number;
  contentType?: string | null;
  /** When set, the body must be exactly this long or nothing is committed (Content-Length). */
  expectedSize?: number;
  /**
   * Conditional write: commit only if the current ETag is this one (If-Match); `null` means only
   * if the file does not exist (If-None-Match: *). Checked again at commit time.
   */
  ifEtag?: string | null;
  /** The quota this write counts against (checked in the commit; refused early when the size is known). */
  quota?: QuotaLimit;
}

export interface WriteResult {
  stat: Stat;
  /** True when the file did not exist before (201 rather than 204). */
  created: boolean;
}

/** Inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

export type ByteSource = AsyncIterable<Uint8Array>;

/** Dead properties as the fronts see them (stored by the metadata layer). */
export type { DeadProp, PropPatch } from '../meta/meta-store.js';
