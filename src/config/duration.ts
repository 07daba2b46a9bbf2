// Parses human durations ("1h", "30m", "1h30m", "500ms", "7d") for configuration values.

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/**
 * Milliseconds in `text`, or an Error saying what is wrong with it. A number is taken as
 * milliseconds (YAML `grace: 0`); a string needs a unit on every part, since a bare "30" is as
 * likely meant in seconds as in minutes.
 */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') {
    if (Number.isSafeInteger(text) && text >= 0) return text;
    throw new Error(`"${text}" is not a whole number of milliseconds`);
  }
  const trimmed = text.trim().toLowerCase();
  if (trimmed === '0') return 0;
  // One or more <number><unit> parts, largest first or not: "1h30m", "90s", "1.5h".
  const part = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gy;
  let ms = 0;
  let parts = 0;
  let end = 0;
  for (let m = part.exec(trimmed); m; m = part.exec(trimmed)) {
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    parts++;
    end = part.lastIndex;
    while (trimmed[part.lastIndex] === ' ') part.lastIndex++;
  }
  if (parts === 0 || end !== trimmed.length) {
    throw new Error(`"${text}" is not a duration (examples: 30s, 15m, 1h, 1h30m, 7d)`);
  }
  const rounded = Math.round(ms);
  if (!Number.isSafeInteger(rounded)) throw new Error(`"${text}" is too long`);
  return rounded;
}

/** The largest whole units of `ms`, e.g. 5400000 → "1h30m", for logs and summaries. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let left = Math.round(ms);
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit]!;
    if (left >= size) {
      out += `${Math.floor(left / size)}${unit}`;
      left %= size;
    }
  }
  return out;
}
