// Turning share paths into hrefs and back: percent-encoding per segment (RFC 3986 §2.1), the
// Destination header (RFC 4918 §10.3: absolute URI, or tolerated absolute path), trailing slashes.
import { FsError } from '../core/errors.js';
import { normalizePath } from '../core/paths.js';

/**
 * Percent-encodes one path segment: encodeURIComponent, then the sub-delims and ":" / "@" that
 * RFC 3986 §3.3 allows in a segment are put back, as Apache and most clients write them.
 */
export function encodeSegment(name: string): string {
  return encodeURIComponent(name).replace(/%(24|26|2B|2C|3B|3D|3A|40)/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** href of a share path; folders end in `/` (RFC 4918 §5.2 recommends it; clients compare them). */
export function hrefOf(path: string, isDir: boolean): string {
  if (path === '/') return '/';
  const encoded = path.split('/').map(encodeSegment).join('/');
  return isDir ? `${encoded}/` : encoded;
}

/** Percent-decodes a URL path and normalises it; malformed escapes are a 400, never a crash. */
export function pathFromUrlPath(raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new FsError('EINVAL', 'malformed percent-encoding in the path');
  }
  return normalizePath(decoded);
}

/**
 * The share path a Destination header names. It must point at this server (same host:port, or a
 * bare path, which some clients send); anything else is 502 Bad Gateway per RFC 4918 §9.8.5 /
 * §9.9.4, signalled with `crossServer`.
 */
export function destinationPath(header: string | undefined, requestHost: string | undefined): { path: string } | { crossServer: true } {
  if (!header) throw new FsError('EINVAL', 'Destination header missing');
  let url: URL;
  try {
    url = new URL(header, `http://${requestHost ?? 'localhost'}`);
  } catch {
    throw new FsError('EINVAL', 'Destination header is not a URL');
  }
  if (requestHost && url.host.toLowerCase() !== requestHost.toLowerCase()) return { crossServer: true };
  return { path: pathFromUrlPath(url.pathname) };
}
