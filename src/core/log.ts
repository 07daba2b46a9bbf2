// The process logger (pino: structured JSON lines). Secrets never go into log fields: URLs are
// passed through `redactUrl` before they are logged.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: { paths: ['password', 'secret', 'secretAccessKey', 'authorization', '*.password', '*.secretAccessKey'], censor: '[redacted]' },
  });
}

/** A URL with any credentials or secret-looking query parameters masked. */
export function redactUrl(url: string): string {
  return url
    .replace(/\/\/([^/@]*)@/, '//[redacted]@')
    .replace(/([?&](?:secret_key|secret|access_key|password|token)=)[^&]*/gi, '$1[redacted]');
}
