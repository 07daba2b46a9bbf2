// The SQL of the `job_leases` table (schema.ts): one row per job that must run on one node at a
// time. SqlMetaStore delegates acquireLease/releaseLease here; maintenance/gc.ts is the user.
import type { SqlExecutor } from './sql-driver.js';

/**
 * See MetaStore.acquireLease; run inside one transaction. The upsert takes the row when it is
 * absent, lapsed (expires_ms <= now) or already ours, and otherwise leaves it alone; reading the
 * row back in the same transaction says which happened. One statement decides, so two nodes
 * racing for a free lease cannot both win on either database (on PostgreSQL the loser's INSERT
 * waits for the winner's row and then sees it as taken).
 */
export async function acquireLease(tx: SqlExecutor, name: string, holder: string, ttlMs: number, nowMs: number): Promise<boolean> {
  const expiresMs = nowMs + ttlMs;
  await tx.run(
    `INSERT INTO job_leases (name, holder, expires_ms) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
     WHERE job_leases.expires_ms <= ? OR job_leases.holder = excluded.holder`,
    [name, holder, expiresMs, nowMs],
  );
  const row = await tx.get<{ holder: string; expires_ms: number | string }>('SELECT holder, expires_ms FROM job_leases WHERE name = ?', [name]);
  return row !== undefined && row.holder === holder && Number(row.expires_ms) === expiresMs;
}

/** See MetaStore.releaseLease. */
export async function releaseLease(db: SqlExecutor, name: string, holder: string): Promise<boolean> {
  return (await db.run('DELETE FROM job_leases WHERE name = ? AND holder = ?', [name, holder])).changes > 0;
}
