// What every method handler receives: the Koa context, the Vfs and the decoded request path.
import type { Context } from 'koa';
import type { Vfs } from '../vfs/vfs.js';

export interface DavOptions {
  /** Largest PUT body accepted (413 above). */
  maxUpload: number;
}

export interface DavRequest {
  ctx: Context;
  vfs: Vfs;
  /** Percent-decoded, normalised path inside the share. */
  path: string;
  options: DavOptions;
}

export type MethodHandler = (req: DavRequest) => Promise<void>;
