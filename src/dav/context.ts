// What every method handler receives: the Koa context, the core services and the decoded path.
import type { Context } from 'koa';
import type { LockManager } from '../locks/lock-manager.js';
import type { FileSystem } from '../vfs/file-system.js';

export interface DavOptions {
  /** Largest PUT body accepted (413 above). */
  maxUpload: number;
  /** Largest XML request body (PROPFIND, PROPPATCH, LOCK) accepted. */
  maxXmlBody: number;
  /** Whether PROPFIND may use Depth: infinity (RFC 4918 §9.1 lets servers refuse it). */
  allowInfiniteDepth: boolean;
}

export interface DavServices {
  vfs: FileSystem;
  locks: LockManager;
  options: DavOptions;
}

export interface DavRequest extends DavServices {
  ctx: Context;
  /** Percent-decoded, normalised path inside the share. */
  path: string;
  /** The authenticated user (null until authentication lands). */
  principal: string | null;
}

export type MethodHandler = (req: DavRequest) => Promise<void>;
