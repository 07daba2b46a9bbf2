// The Timeout request header of LOCK (RFC 4918 §10.7): the client's wish, which the server caps.

/** RFC 4918 §10.7: "The DesiredSeconds value MUST be less than 2^32-1". */
export const MAX_DESIRED_SECONDS = 2 ** 32 - 1;

/**
 * Parses `Timeout: Second-3600, Infinite`. The values are the client's preferences in order
 * (§10.7), so the first one understood wins; unknown types (RFC 2518's `Extend`, typos) are
 * skipped. Returns seconds, 'infinite', or undefined when nothing was understood, meaning "the
 * server's default" (the server "is not required to honor or even consider" the header).
 */
export function parseTimeout(header: string | undefined): number | 'infinite' | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(',')) {
    const value = part.trim();
    if (/^infinite$/i.test(value)) return 'infinite';
    const m = /^second-(\d+)$/i.exec(value);
    if (m) return Math.min(Number(m[1]), MAX_DESIRED_SECONDS);
  }
  return undefined;
}
