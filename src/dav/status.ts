// The one translation of errors into HTTP responses: the core's FsError codes to statuses (RFC
// 4918 §9 per method), DAV precondition errors to DAV:error bodies (§16), anything unexpected to
// a 500 that reveals nothing. Update the table when a code is added to core/errors.ts.
import { FsError, type FsErrorCode } from '../core/errors.js';
import { LockConflictError, LockedError, LockTokenError } from '../locks/lock-manager.js';
import { DavError } from './dav-error.js';
import { hrefOf } from './href.js';
import { IfHeaderError } from './if-header.js';
import { DavXmlError } from './xml/parse-request.js';
import { escapeXmlText } from './xml/write-xml.js';

export const STATUS_OF: Record<FsErrorCode, number> = {
  ENOENT: 404,
  EEXIST: 412, // COPY/MOVE with Overwrite: F onto an existing resource (RFC 4918 §9.8.5)
  ENOTDIR: 409, // a path component is a file: the parent "collection" is missing (§9.7.1)
  EISDIR: 405,
  ENOTEMPTY: 409,
  EINVAL: 400,
  EACCES: 403,
  EBUSY: 423,
  ENOSPC: 507,
  EPRECONDITION: 412,
  EIO: 502, // the object or metadata store failed behind us
  ECANCELED: 400,
};

export interface ErrorResponse {
  status: number;
  type: string;
  body: string;
}

const hrefs = (paths: string[]) => paths.map((p) => `<D:href>${escapeXmlText(hrefOf(p, false))}</D:href>`).join('');

export function errorResponse(err: unknown): ErrorResponse {
  const text = (status: number, message: string): ErrorResponse => ({ status, type: 'text/plain; charset=utf-8', body: `${message}\n` });
  const xml = (status: number, condition: string): ErrorResponse => ({
    status,
    type: 'application/xml; charset=utf-8',
    body: `<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:">${condition}</D:error>`,
  });
  if (err instanceof DavError) return err.conditionXml ? xml(err.status, err.conditionXml) : text(err.status, err.message);
  if (err instanceof LockedError) return xml(423, `<D:lock-token-submitted>${hrefs(err.paths)}</D:lock-token-submitted>`);
  if (err instanceof LockConflictError) return xml(423, `<D:no-conflicting-lock>${hrefs(err.paths)}</D:no-conflicting-lock>`);
  if (err instanceof LockTokenError) return xml(err.status, `<D:${err.condition}/>`);
  if (err instanceof IfHeaderError || err instanceof DavXmlError) return text(400, err.message);
  if (err instanceof FsError) return text(STATUS_OF[err.code], err.message);
  return text(500, 'internal error');
}
