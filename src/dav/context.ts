// What every method handler receives: the Koa context, the core services and the decoded path.
import type { Context } from 'koa';
import type { LockService } from '../locks/lock-manager.js';
import type { FileSystem } from '../vfs/file-system.js';

export interface DavOptions {
  /** Largest PUT body accepted (413 above). */
  maxUpload: number;
  /** Largest XML request body (PROPFIND, PROPPATCH, LOCK) accepted. */
  maxXmlBody: number;
  /** Whether PROPFIND may use Depth: infinity (RFC 4918 §9.1 lets servers refuse it). */
  allowInfiniteDepth: boolean;
}

/** What one request works on: the requesting user's file system and locks (http/session.ts). */
export interface DavSession {
  vfs: FileSystem;
  locks: LockService;
  /** The authenticated user, who owns the locks they take (RFC 4918 §6.4); null without authentication. */
  principal: string | null;
}

export interface DavServices extends DavSession {
  options: DavOptions;
}

export interface DavRequest extends DavServices {
  ctx: Context;
  /** Percent-decoded, normalised path inside the user's share. */
  path: string;
}

export type MethodHandler = (req: DavRequest) => Promise<void>;
