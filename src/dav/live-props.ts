// Live properties (RFC 4918 §15, RFC 4331 §3): computed from a resource's Stat and its locks,
// never stored. Values are inner XML; names are in the DAV: namespace.
import mime from 'mime-types';
import type { Stat } from '../vfs/types.js';
import type { Usage } from '../vfs/file-system.js';
import type { Lock } from '../locks/lock-manager.js';
import { activeLockXml } from './lock-xml.js';

/** The live properties an allprop PROPFIND returns (RFC 4918 §9.1: those this spec defines). */
export const ALLPROP_LIVE = [
  'resourcetype',
  'creationdate',
  'getlastmodified',
  'displayname',
  'getcontentlength',
  'getcontenttype',
  'getetag',
  'lockdiscovery',
  'supportedlock',
] as const;

/** Returned only when asked for by name (RFC 4331 §3: not part of allprop). */
export const NAMED_ONLY_LIVE = ['quota-available-bytes', 'quota-used-bytes'] as const;

/** What quota-available-bytes says when no quota applies. */
export const NO_QUOTA_AVAILABLE_BYTES = 2 ** 50;

/** Live properties a client may never set (PROPPATCH answers 403 cannot-modify-protected-property). */
export const PROTECTED_LIVE = new Set<string>([...ALLPROP_LIVE.filter((n) => n !== 'displayname'), ...NAMED_ONLY_LIVE]);

export interface LiveContext {
  stat: Stat;
  /** Locks covering the resource, for lockdiscovery. */
  locks: Lock[];
  hrefOf: (path: string, isDir: boolean) => string;
  /** Space used and left (RFC 4331), fetched once per request and only when a quota property is asked for. */
  usage: Usage | undefined;
}

const SUPPORTED_LOCK =
  '<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>' +
  '<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>';

/** Inner XML of live property `name`, or undefined when the resource has no such property. */
export function liveValue(name: string, c: LiveContext): string | undefined {
  const s = c.stat;
  const file = s.kind === 'file';
  switch (name) {
    case 'resourcetype':
      return file ? '' : '<D:collection/>';
    case 'creationdate':
      return new Date(s.birthMs).toISOString();
    case 'getlastmodified':
      return new Date(s.mtimeMs).toUTCString();
    case 'displayname':
      return undefined; // a dead property when a client sets it; no server-chosen value
    case 'getcontentlength':
      return file ? String(s.size) : undefined;
    case 'getcontenttype':
      return file ? escapeText(s.contentType ?? (mime.lookup(s.name) || 'application/octet-stream')) : undefined;
    case 'getetag':
      return file ? `"${s.etag}"` : undefined;
    case 'lockdiscovery':
      return c.locks.map((l) => activeLockXml(l, c.hrefOf)).join('');
    case 'supportedlock':
      return SUPPORTED_LOCK;
    case 'quota-used-bytes':
      return c.usage === undefined ? undefined : String(c.usage.usedBytes);
    case 'quota-available-bytes':
      // Without a quota an object store has no fixed size. RFC 4331 §3 would let the property be
      // absent, but Finder and Windows then show a full or sizeless drive and some clients (the
      // `webdav` npm client) ignore quota-used-bytes alone: report 1 PiB free.
      if (c.usage === undefined) return undefined;
      return String(c.usage.availableBytes ?? NO_QUOTA_AVAILABLE_BYTES);
    default:
      return undefined;
  }
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
