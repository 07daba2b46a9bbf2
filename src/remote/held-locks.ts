// WebDAV write locks this client holds (RFC 4918 §6, §9.10): taken while a file is open for
// writing, refreshed at half their timeout, submitted in an If header with every request that
// changes a locked path (§10.4: a token in the If header is how the holder proves it), released by
// UNLOCK. Locks are counted per path, so two handles open for writing share one lock.
import { hostname } from 'node:os';
import { parentOf } from '../core/paths.js';
import { discard, type DavHttp } from './http-client.js';
import { within } from './path-ids.js';
import type { RemoteLog } from './remote-options.js';
import { lockinfoBody, lockTokenOf } from './request-xml.js';
import { statusError } from './status-errors.js';

interface Held {
  token: string;
  uses: number;
  timer: NodeJS.Timeout;
}

export class HeldLocks {
  private readonly held = new Map<string, Held>();
  /** Tokens of locks the server dropped with a DELETE or MOVE by this client: unlock is then a no-op. */
  private readonly released = new Set<string>();

  constructor(
    private readonly http: DavHttp,
    private readonly timeoutS: number,
    private readonly log: RemoteLog,
  ) {}

  /**
   * An exclusive write lock on `path` (Depth 0), or another use of the one already held. `created`
   * is true when the path was unmapped: the server created an empty file (§7.3).
   */
  async lock(path: string): Promise<{ token: string; created: boolean }> {
    const mine = this.held.get(path);
    if (mine) {
      mine.uses++;
      return { token: mine.token, created: false };
    }
    const res = await this.http.expect(
      'LOCK',
      path,
      [200, 201],
      {
        headers: { Depth: '0', Timeout: `Second-${this.timeoutS}`, 'Content-Type': 'application/xml; charset=utf-8' },
        body: lockinfoBody(`davfs-bridge mount on ${hostname()}`),
      },
      { 409: 'ENOENT', 405: 'EISDIR' },
    );
    const token = lockTokenOf(res.headers.get('lock-token'));
    await discard(res);
    const timer = setInterval(() => void this.refresh(path), Math.max(1, this.timeoutS / 2) * 1000);
    timer.unref();
    this.held.set(path, { token, uses: 1, timer });
    return { token, created: res.status === 201 };
  }

  /**
   * Gives up one use of the lock; the last one sends UNLOCK. A lock the server no longer has (it
   * lapsed, or went with a DELETE or MOVE) is what the caller wants: no error then.
   */
  async unlock(path: string, token: string): Promise<void> {
    if (this.released.delete(token)) return;
    const mine = this.held.get(path);
    if (mine?.token === token) {
      if (--mine.uses > 0) return;
      clearInterval(mine.timer);
      this.held.delete(path);
    }
    const res = await this.http.send('UNLOCK', path, { headers: { 'Lock-Token': `<${token}>` } });
    await discard(res);
    if (res.status === 200 || res.status === 204) return;
    // RFC 4918 §9.11.1: 409 when the token does not name a lock on the resource; some servers say 412 or 404.
    if (res.status === 409 || res.status === 412 || res.status === 404) {
      this.log.debug({ path, status: res.status }, 'UNLOCK of a lock the server no longer has');
      return;
    }
    throw statusError(res.status, `UNLOCK ${path}`);
  }

  /**
   * The If header for a request changing `paths`: a tagged list (§10.4.2) per lock held on a path
   * or on its parent (whose membership changes too), or undefined when none is held.
   */
  ifHeader(...paths: string[]): string | undefined {
    if (this.held.size === 0) return undefined;
    const lists: string[] = [];
    const seen = new Set<string>();
    for (const p of paths.flatMap((x) => [x, parentOf(x)])) {
      const mine = this.held.get(p);
      if (!mine || seen.has(p)) continue;
      seen.add(p);
      lists.push(`<${this.http.urlOf(p)}> (<${mine.token}>)`);
    }
    return lists.length ? lists.join(' ') : undefined;
  }

  /** The server dropped the locks at and below `path` (DELETE, MOVE away: §7.5, locks stay with URLs). */
  dropWithin(path: string): void {
    for (const [p, mine] of [...this.held]) {
      if (!within(p, path)) continue;
      clearInterval(mine.timer);
      this.held.delete(p);
      this.released.add(mine.token);
    }
  }

  /** Unlocks everything still held (at close). */
  async releaseAll(): Promise<void> {
    const all = [...this.held];
    this.held.clear();
    await Promise.all(
      all.map(async ([path, mine]) => {
        clearInterval(mine.timer);
        try {
          const res = await this.http.send('UNLOCK', path, { headers: { 'Lock-Token': `<${mine.token}>` } });
          await discard(res);
        } catch (err) {
          this.log.warn({ err, path }, 'unlock at close failed; the lock lapses at its timeout');
        }
      }),
    );
  }

  /** §9.10.2: a refresh is a LOCK without a body naming the lock in the If header. */
  private async refresh(path: string): Promise<void> {
    const mine = this.held.get(path);
    if (!mine) return;
    try {
      const res = await this.http.send('LOCK', path, { headers: { If: `(<${mine.token}>)`, Timeout: `Second-${this.timeoutS}` } });
      await discard(res);
      if (res.status === 412 || res.status === 409) {
        this.log.warn({ path, status: res.status }, 'the server no longer knows our lock');
        clearInterval(mine.timer);
        this.held.delete(path);
      } else if (res.status !== 200) {
        this.log.warn({ path, status: res.status }, 'lock refresh failed; retrying at the next interval');
      }
    } catch (err) {
      this.log.warn({ err, path }, 'lock refresh failed; retrying at the next interval');
    }
  }
}
