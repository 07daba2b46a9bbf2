// WebDAV write locks (RFC 4918 §6, §7, §9.10, §9.11) over the metadata store's lock rows: taking,
// refreshing and releasing locks, lock discovery, and the check every state-changing method makes.
//
// Locks are rows keyed by path (schema.ts), so they survive restarts and hold on every node that
// shares the database; the conflict check and the insert of a new lock are one transaction
// (MetaStore.createLock). Paths are normalised here (core/paths.ts) whatever the caller passes.
//
// Errors and their HTTP outcome (the dav front maps them; each is also an FsError whose code the
// fronts' tables already translate):
//   LockConflictError  → 423 with <D:no-conflicting-lock> (§9.10.6)
//   LockedError        → 423 with <D:lock-token-submitted> (§7.1, §12.1.1 / §16)
//   LockTokenError     → 412 for a refresh (§9.10.6), 409 for UNLOCK (§9.11.1), with
//                        <D:lock-token-matches-request-uri>
//   LockPrincipalError → 403: the lock belongs to someone else (§9.11.1, §6.4)
import { randomUUID } from 'node:crypto';
import { FsError } from '../core/errors.js';
import { isSameOrInside, normalizePath } from '../core/paths.js';
import type { LockRow, MetaStore } from '../meta/meta-store.js';

export { parseTimeout } from './timeout.js';

export type LockScope = 'exclusive' | 'shared';
export type LockDepth = 0 | 'infinity';

/** A lock as the fronts see it (RFC 4918 §6.1). */
export interface Lock {
  /** `urn:uuid:…` (§6.5: unique across all resources for all time). */
  token: string;
  /** The lock root (§6.1 item 1), a normalised path; it may be unmapped. */
  root: string;
  depth: LockDepth;
  scope: LockScope;
  /** The client's <D:owner> element, returned verbatim in lockdiscovery (§14.17). */
  ownerXml: string | null;
  /** Who took it; only they may use the token (§6.4). Null on a server without authentication. */
  principal: string | null;
  /** Granted timeout in seconds (null: infinite). */
  timeoutS: number | null;
  /** When the lock lapses unless refreshed (null: never). */
  expiresMs: number | null;
  createdMs: number;
}

export interface LockRequest {
  path: string;
  depth: LockDepth;
  scope: LockScope;
  ownerXml: string | null;
  principal: string | null;
  /** From parseTimeout: seconds wished, 'infinite', or undefined for the server's default. */
  timeout: number | 'infinite' | undefined;
}

export interface WriteCheck {
  /** The resource the method changes. */
  path: string;
  /** 'infinity' when the change reaches every member below `path` too (DELETE, MOVE of a collection). */
  depth: LockDepth;
  /** Lock tokens the request submitted (the If header: if-header.ts `submittedTokens`). */
  tokens: readonly string[];
  principal: string | null;
}

/** What the fronts use of the lock manager (tenancy/user-locks.ts gives each user a view of it). */
export type LockService = Pick<LockManager, 'lock' | 'refresh' | 'unlock' | 'discover' | 'discoverTree' | 'assertCanWrite' | 'releaseWithin'>;

export interface LockManagerOptions {
  /**
   * Longest timeout granted, in seconds (default 3600); `Infinite` requests get it (§10.7 lets the
   * server choose). Pass Infinity to grant infinite locks.
   */
  maxTimeoutS?: number;
  /** Timeout when the client names none (default: maxTimeoutS). */
  defaultTimeoutS?: number;
}

/** Names of the RFC 4918 §16 preconditions these errors report. */
export type LockCondition = 'no-conflicting-lock' | 'lock-token-submitted' | 'lock-token-matches-request-uri';

/** A lock cannot be granted: it conflicts with the locks rooted at `paths` (§9.10.6 → 423). */
export class LockConflictError extends FsError {
  readonly condition: LockCondition = 'no-conflicting-lock';
  constructor(readonly paths: string[]) {
    super('EBUSY', `conflicts with the lock on ${paths.join(', ')}`);
    this.name = 'LockConflictError';
  }
}

/** The resource is locked and no token of the locks rooted at `paths` was submitted by its owner (→ 423). */
export class LockedError extends FsError {
  readonly condition: LockCondition = 'lock-token-submitted';
  constructor(readonly paths: string[]) {
    super('EBUSY', `locked by the lock on ${paths.join(', ')}`);
    this.name = 'LockedError';
  }
}

/** The token names no live lock covering the request URI: 412 for a refresh, 409 for UNLOCK. */
export class LockTokenError extends FsError {
  readonly condition: LockCondition = 'lock-token-matches-request-uri';
  constructor(
    readonly status: 409 | 412,
    message: string,
  ) {
    super('EPRECONDITION', message);
    this.name = 'LockTokenError';
  }
}

/** The lock belongs to another principal (→ 403, §9.11.1). */
export class LockPrincipalError extends FsError {
  constructor(message: string) {
    super('EACCES', message);
    this.name = 'LockPrincipalError';
  }
}

const DEFAULT_MAX_TIMEOUT_S = 3600;

export class LockManager {
  private readonly maxTimeoutS: number;
  private readonly defaultTimeoutS: number;

  constructor(
    private readonly meta: MetaStore,
    opts: LockManagerOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxTimeoutS = opts.maxTimeoutS ?? DEFAULT_MAX_TIMEOUT_S;
    this.defaultTimeoutS = opts.defaultTimeoutS ?? this.maxTimeoutS;
    if (!(this.maxTimeoutS > 0) || !(this.defaultTimeoutS > 0)) throw new RangeError('lock timeouts must be positive');
  }

  /**
   * Takes a lock (§9.10.1). An exclusive lock conflicts with any lock sharing a resource with it,
   * a shared lock only with exclusive ones (§6.2, the compatibility table of §9.10.5); a
   * depth-infinity lock reaches every member below its root (§9.10.3). Throws LockConflictError.
   * Creating the resource at an unmapped URL (§7.3) is the caller's business.
   */
  async lock(req: LockRequest): Promise<Lock> {
    const now = this.now();
    const timeoutS = this.grant(req.timeout);
    const row: LockRow = {
      token: `urn:uuid:${randomUUID()}`,
      path: normalizePath(req.path),
      depth: req.depth === 'infinity' ? -1 : 0,
      scope: req.scope,
      ownerXml: req.ownerXml,
      principal: req.principal,
      timeoutS,
      expiresMs: timeoutS === null ? null : now + timeoutS * 1000,
      createdMs: now,
    };
    await this.meta.createLock(row, (existing) => {
      const blocking = existing.filter((e) => overlaps(e, row) && (row.scope === 'exclusive' || e.scope === 'exclusive'));
      if (blocking.length > 0) throw new LockConflictError(unique(blocking.map((e) => e.path)).sort());
    });
    return toLock(row);
  }

  /**
   * Refreshes a lock (§9.10.2): it must be live and cover `path` (a member of a depth-infinity
   * lock may refresh it: litmus `indirect_refresh`), else LockTokenError(412). When `principal`
   * is given, only the lock's owner may refresh it (§6.4).
   */
  async refresh(path: string, token: string, timeout: number | 'infinite' | undefined, principal?: string | null): Promise<Lock> {
    const p = normalizePath(path);
    const now = this.now();
    const row = await this.meta.getLock(token, now);
    if (!row || !covers(row, p)) throw new LockTokenError(412, `no lock ${token} covers ${p}`);
    if (principal !== undefined && row.principal !== null && row.principal !== principal) {
      throw new LockPrincipalError('the lock belongs to another user');
    }
    const timeoutS = this.grant(timeout);
    const expiresMs = timeoutS === null ? null : now + timeoutS * 1000;
    if (!(await this.meta.refreshLock(token, timeoutS, expiresMs, now))) throw new LockTokenError(412, `lock ${token} is gone`);
    return toLock({ ...row, timeoutS, expiresMs });
  }

  /**
   * Removes a lock (§9.11). The token must name a live lock whose scope includes `path`, else
   * LockTokenError(409) (§9.11.1); a lock taken by a principal may be removed only by them
   * (LockPrincipalError, 403).
   */
  async unlock(path: string, token: string, principal: string | null): Promise<void> {
    const p = normalizePath(path);
    const row = await this.meta.getLock(token, this.now());
    if (!row || !covers(row, p)) throw new LockTokenError(409, `no lock ${token} covers ${p}`);
    if (row.principal !== null && row.principal !== principal) throw new LockPrincipalError('the lock belongs to another user');
    if (!(await this.meta.deleteLock(token))) throw new LockTokenError(409, `lock ${token} is gone`);
  }

  /** The live locks covering `path`, for DAV:lockdiscovery (§15.8), oldest first. */
  async discover(path: string): Promise<Lock[]> {
    return (await this.meta.locksCovering(normalizePath(path), this.now())).map(toLock);
  }

  /**
   * The live locks covering `path` or rooted below it: one query for a whole PROPFIND, matched to
   * each resource in memory with `lockCovers`.
   */
  async discoverTree(path: string): Promise<Lock[]> {
    const p = normalizePath(path);
    const now = this.now();
    const [above, below] = await Promise.all([this.meta.locksCovering(p, now), this.meta.locksBelow(p, now)]);
    return [...above, ...below].map(toLock);
  }

  /**
   * Refuses a state-changing request with LockedError unless it may change `path` (and, for
   * depth infinity, everything below). RFC 4918 §7.1: a write lock stops "a principal without the
   * lock"; a client shows it holds one by submitting its token (§10.4.1), and only the lock's own
   * principal may use it (§6.4). Under shared locks (§6.2) every holder may write, so a resource
   * passes when it is unlocked or one of the locks covering it is held; with exclusive locks that
   * means its one lock. For a depth-infinity change this must hold for every resource below too.
   */
  async assertCanWrite(check: WriteCheck): Promise<void> {
    const p = normalizePath(check.path);
    const now = this.now();
    const above = await this.meta.locksCovering(p, now);
    const below = check.depth === 'infinity' ? await this.meta.locksBelow(p, now) : [];
    if (above.length === 0 && below.length === 0) return;
    const submitted = new Set(check.tokens);
    const held = (l: LockRow) => submitted.has(l.token) && (l.principal === null || l.principal === check.principal);
    const blocked = blockedRoots(p, check.depth, [...above, ...below], held);
    if (blocked.length > 0) throw new LockedError(blocked);
  }

  /** Forgets the locks rooted at `path` or below: after DELETE, and at a MOVE's source (§9.9.4: locks do not move). */
  releaseWithin(path: string): Promise<number> {
    return this.meta.deleteLocksWithin(normalizePath(path));
  }

  /** Deletes lapsed locks (a scheduled job; lookups already ignore them). */
  purgeExpired(): Promise<number> {
    return this.meta.deleteExpiredLocks(this.now());
  }

  /** `Second-N` (seconds left, on this manager's clock) or `Infinite`. */
  timeoutHeader(lock: Lock): string {
    return timeoutHeader(lock, this.now());
  }

  /** The timeout granted for a request: capped by the server maximum, at least one second. */
  private grant(requested: number | 'infinite' | undefined): number | null {
    const wish = requested === undefined ? this.defaultTimeoutS : requested === 'infinite' ? Infinity : requested;
    const s = Math.min(wish, this.maxTimeoutS);
    return s === Infinity ? null : Math.max(1, Math.floor(s));
  }
}

/**
 * The Timeout value of a lock (§10.7 syntax) for the Timeout response header and DAV:timeout,
 * which §14.29 defines as "the number of seconds remaining before a lock expires".
 */
export function timeoutHeader(lock: Lock, nowMs: number = Date.now()): string {
  if (lock.expiresMs === null) return 'Infinite';
  return `Second-${Math.max(0, Math.ceil((lock.expiresMs - nowMs) / 1000))}`;
}

/** True if `lock` covers `path`: its root, and with depth infinity every member below (§9.10.3). */
export function lockCovers(lock: Lock, path: string): boolean {
  return lock.root === path || (lock.depth === 'infinity' && isSameOrInside(path, lock.root));
}

function covers(row: LockRow, path: string): boolean {
  return row.path === path || (row.depth === -1 && isSameOrInside(path, row.path));
}

/** Two locks share a resource when either one's root lies in the other's scope. */
function overlaps(a: LockRow, b: LockRow): boolean {
  return covers(a, b.path) || covers(b, a.path);
}

/**
 * Roots of the locks that keep a write at `path` from going ahead. The resources to check are
 * `path` itself and, for depth infinity, the root of every lock below it plus a member of every
 * depth-infinity root (a resource below a root that has no lock of its own) — the points where
 * the set of covering locks can change. A resource is blocked when locks cover it and none is
 * held. (When the tree has no member below such a root the check is stricter than needed, which
 * only matters for a depth-0 and a depth-infinity shared lock on one root held by different users.)
 */
function blockedRoots(path: string, depth: LockDepth, locks: LockRow[], held: (l: LockRow) => boolean): string[] {
  const points: { path: string; member: boolean }[] = [{ path, member: false }];
  if (depth === 'infinity') {
    points.push({ path, member: true });
    for (const l of locks) {
      if (l.path !== path && isSameOrInside(l.path, path)) {
        points.push({ path: l.path, member: false });
        if (l.depth === -1) points.push({ path: l.path, member: true });
      }
    }
  }
  const blocked: string[] = [];
  for (const pt of points) {
    const cover = locks.filter((l) => (pt.member ? l.depth === -1 && isSameOrInside(pt.path, l.path) : covers(l, pt.path)));
    if (cover.length > 0 && !cover.some(held)) blocked.push(...cover.map((l) => l.path));
  }
  return unique(blocked).sort();
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

function toLock(r: LockRow): Lock {
  return {
    token: r.token,
    root: r.path,
    depth: r.depth === -1 ? 'infinity' : 0,
    scope: r.scope,
    ownerXml: r.ownerXml,
    principal: r.principal,
    timeoutS: r.timeoutS,
    expiresMs: r.expiresMs,
    createdMs: r.createdMs,
  };
}
