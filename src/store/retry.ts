// Bounded retries with exponential backoff and jitter, for operations that are safe to repeat.

export interface RetryOptions {
  /** Total attempts, including the first (at least 1). */
  tries: number;
  /** Backoff before the second attempt; it doubles for each later attempt. */
  baseMs: number;
  /** Ceiling of a single backoff. Default 10 s. */
  maxMs?: number;
  /** Whether an error is worth another attempt (throttling, 5xx, a reset connection…). */
  isRetryable: (err: unknown) => boolean;
  /** Told before each backoff, e.g. for a log line or a metric. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Replaced in tests to avoid real waiting. */
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Backoff before attempt `attempt + 1` (attempt counts from 1): "equal jitter", half fixed and half
 * random, so that many nodes throttled at once (S3 503 SlowDown) spread out instead of retrying in
 * lockstep, while each still waits at least half the exponential step.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/**
 * Runs `fn` until it resolves, an error is not retryable, or `tries` attempts have failed; the last
 * error is thrown unchanged. `fn` receives the attempt number (1-based).
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const tries = Math.max(1, Math.floor(options.tries));
  const maxMs = options.maxMs ?? 10_000;
  const sleep = options.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= tries || !options.isRetryable(err)) throw err;
      const delay = backoffMs(attempt, options.baseMs, maxMs);
      options.onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}
