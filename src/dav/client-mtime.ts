// Modification times that clients set, in the two dialects they speak:
//   - `X-OC-Mtime: <Unix seconds>` on PUT (ownCloud/Nextcloud desktop clients, rclone's webdav
//     backend with vendor owncloud/nextcloud), answered with `X-OC-MTime: accepted` so the client
//     does not send a second request to set it;
//   - PROPPATCH of `Win32LastModifiedTime` in namespace `urn:schemas-microsoft-com:` (Windows'
//     WebClient after every copy to the drive, RFC 1123 date text, e.g. "Mon, 23 Nov 2026 15:00:00 GMT").
// Either way getlastmodified then shows the client's time, as it would on a local disk.
import type { Context } from 'koa';

export const MS_NS = 'urn:schemas-microsoft-com:';
export const WIN32_MTIME = 'Win32LastModifiedTime';

/** The mtime an `X-OC-Mtime` header asks for, in ms; undefined when absent or not a sane time. */
export function ocMtimeMs(ctx: Context): number | undefined {
  const raw = ctx.get('X-OC-Mtime').trim();
  if (!/^\d{1,12}(\.\d+)?$/.test(raw)) return undefined;
  return Math.round(Number(raw) * 1000);
}

/** The ms of a Win32LastModifiedTime value (its XML text); undefined when it is not a date. */
export function win32MtimeMs(xmlText: string): number | undefined {
  const ms = Date.parse(xmlText.replace(/<[^>]*>/g, '').trim());
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}
