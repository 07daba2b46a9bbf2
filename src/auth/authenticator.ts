// Checks credentials against the users and tokens in the metadata store. Passwords are scrypt
// hashes (password.ts), deliberately slow; WebDAV clients send Basic credentials with EVERY request
// (Windows' WebClient, Finder, davfs2), so a password proven once is remembered for a while in
// memory under a keyed hash — never the password itself — and only as long as the user's stored
// hash is unchanged (a `user passwd` or `user rm` takes effect at the next request).
import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { MetaStore, UserRow } from '../meta/meta-store.js';
import { hashPassword, hashToken, randomPassword, verifyPassword } from './password.js';

/** An authenticated user, as the fronts see it. */
export type User = UserRow;

export interface AuthenticatorOptions {
  /** How long a proven password is accepted without scrypt (default 5 minutes). */
  verifiedTtlMs?: number;
  /** How often a token's last-used time is written, at most (default 1 minute). */
  touchEveryMs?: number;
  now?: () => number;
}

export class Authenticator {
  private readonly verified: LRUCache<string, string>;
  /** Keys the verified-password cache: its entries are useless outside this process. */
  private readonly cacheKey = randomBytes(32);
  private readonly touched = new LRUCache<string, number>({ max: 10_000 });
  private readonly touchEveryMs: number;
  private readonly now: () => number;
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly meta: MetaStore,
    opts: AuthenticatorOptions = {},
  ) {
    this.verified = new LRUCache({ max: 10_000, ttl: opts.verifiedTtlMs ?? 5 * 60_000 });
    this.touchEveryMs = opts.touchEveryMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** The user whose name and password these are, or undefined. */
  async byPassword(name: string, password: string): Promise<UserRow | undefined> {
    const user = await this.meta.getUser(name);
    if (!user) {
      // Spend the same scrypt time as for a real user, so timing does not tell which names exist.
      await verifyPassword(password, await this.dummy());
      return undefined;
    }
    const key = createHmac('sha256', this.cacheKey).update(`${name}\0${password}`).digest('base64');
    if (this.verified.get(key) === user.passwordHash) return user;
    if (!(await verifyPassword(password, user.passwordHash))) return undefined;
    this.verified.set(key, user.passwordHash);
    return user;
  }

  /** The user a bearer token acts as, or undefined (tokens are looked up by their SHA-256). */
  async byToken(token: string): Promise<UserRow | undefined> {
    const hash = hashToken(token);
    const user = await this.meta.userByTokenHash(hash);
    if (!user) return undefined;
    const now = this.now();
    // `token list` shows when a token was last used; a write per request would cost more than it tells.
    if (now - (this.touched.get(hash) ?? 0) >= this.touchEveryMs) {
      this.touched.set(hash, now);
      await this.meta.touchToken(hash, now);
    }
    return user;
  }

  /** A user and their Digest HA1 (stored only when Digest is enabled), for the Digest strategy. */
  async digestSecret(name: string): Promise<{ user: UserRow; ha1: string } | undefined> {
    const user = await this.meta.getUser(name);
    return user?.digestHa1 ? { user, ha1: user.digestHa1 } : undefined;
  }

  /** The shared folders granted to a user, with their rights. */
  sharesOf(name: string): Promise<{ name: string; path: string; rights: 'r' | 'rw' }[]> {
    return this.meta.sharesOfUser(name);
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(randomPassword());
    return this.dummyHash;
  }
}
