// Brute-force protection: failed logins are counted per client address and per user name
// (rate-limiter-flexible); past the limit within the window, that address or name is refused with
// 429 and Retry-After for `blockS` seconds — then it may try again, so an attacker can delay the
// real user but never lock them out for good. A success clears the name's count.
//
// A name allows NAME_FACTOR times more failures than an address: one guessing address is stopped
// long before the name it attacks, so the real user, from their own address, is not refused; only
// guessing spread over many addresses reaches the name's limit.
//
// Counters live in this process: each node of a cluster counts on its own (a cluster multiplies
// the attempts an attacker gets by the number of nodes; rate-limiter-flexible has PostgreSQL
// stores for when several-node support lands).
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface ThrottleOptions {
  /** Failed attempts allowed per address and per name within the window. */
  maxFailures: number;
  windowS: number;
  /** How long an address or name is refused once over the limit. */
  blockS: number;
}

export const NAME_FACTOR = 5;

export class LoginThrottle {
  private readonly byAddress: RateLimiterMemory;
  private readonly byName: RateLimiterMemory;

  constructor(opts: ThrottleOptions) {
    const limits = { duration: opts.windowS, blockDuration: opts.blockS };
    this.byAddress = new RateLimiterMemory({ ...limits, points: opts.maxFailures, keyPrefix: 'addr' });
    this.byName = new RateLimiterMemory({ ...limits, points: opts.maxFailures * NAME_FACTOR, keyPrefix: 'name' });
  }

  /** Milliseconds until this address (and name) may try again; 0 when not refused. */
  async retryAfterMs(address: string, name: string | undefined): Promise<number> {
    const waits = await Promise.all([this.waitOf(this.byAddress, address), name === undefined ? 0 : this.waitOf(this.byName, name)]);
    return Math.max(...waits);
  }

  /** Counts a failed attempt; returns the wait (ms) it now causes, 0 while under the limit. */
  async failed(address: string, name: string | undefined): Promise<number> {
    const waits = await Promise.all([this.consume(this.byAddress, address), name === undefined ? 0 : this.consume(this.byName, name)]);
    return Math.max(...waits);
  }

  /** A successful login clears the name's failures (not the address's: it may be shared by an attacker). */
  async succeeded(name: string): Promise<void> {
    await this.byName.delete(name);
  }

  private async waitOf(limiter: RateLimiterMemory, key: string): Promise<number> {
    const res = await limiter.get(key);
    return res !== null && res.consumedPoints > limiter.points ? res.msBeforeNext : 0;
  }

  private async consume(limiter: RateLimiterMemory, key: string): Promise<number> {
    try {
      await limiter.consume(key);
      return 0;
    } catch (err) {
      // Over the limit: rate-limiter-flexible rejects with the limiter's state, not an Error.
      if (err instanceof RateLimiterRes) return err.msBeforeNext;
      throw err;
    }
  }
}
