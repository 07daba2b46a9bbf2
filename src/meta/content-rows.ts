// The SQL of contents and their chunk lists (schema.ts `contents`, `content_chunks`, `chunks`):
// taking and dropping references with their refcounts (I2, I3) and reading chunk lists back.
import { FsError } from '../core/errors.js';
import type { ChunkExtent, ContentBody, NewContent } from './meta-store.js';
import type { SqlExecutor } from './sql-driver.js';

function numericExtent(e: ChunkExtent): ChunkExtent {
  return { hash: e.hash, offset: Number(e.offset), length: Number(e.length) };
}

export async function readContent(db: SqlExecutor, contentId: number): Promise<ContentBody> {
  const c = await db.get<{ size: number; etag: string; inline_data: Buffer | null }>('SELECT size, etag, inline_data FROM contents WHERE id = ?', [
    contentId,
  ]);
  if (!c) throw new FsError('ENOENT', `content ${contentId} is gone`);
  const chunks = c.inline_data
    ? []
    : await db.all<ChunkExtent>(`SELECT chunk_hash AS hash, "offset" AS "offset", length FROM content_chunks WHERE content_id = ? ORDER BY seq`, [
        contentId,
      ]);
  return { size: Number(c.size), etag: c.etag, inline: c.inline_data, chunks: chunks.map(numericExtent) };
}

export async function chunksInRange(db: SqlExecutor, contentId: number, start: number, end: number): Promise<ChunkExtent[]> {
  const rows = await db.all<ChunkExtent>(
    `SELECT chunk_hash AS hash, "offset" AS "offset", length FROM content_chunks
     WHERE content_id = ? AND "offset" <= ? AND "offset" + length > ? ORDER BY seq`,
    [contentId, end, start],
  );
  return rows.map(numericExtent);
}

export async function knownChunks(db: SqlExecutor, hashes: string[]): Promise<Set<string>> {
  const known = new Set<string>();
  // Only referenced chunks count: one with refcount 0 may be deleted by GC at any moment, so
  // it is uploaded again (a repeated PUT is harmless; DESIGN.md invariant 4).
  for (let i = 0; i < hashes.length; i += 500) {
    const part = hashes.slice(i, i + 500);
    const rows = await db.all<{ hash: string }>(`SELECT hash FROM chunks WHERE refcount > 0 AND hash IN (${part.map(() => '?').join(',')})`, part);
    for (const r of rows) known.add(r.hash);
  }
  return known;
}

/** Inserts a content (or reuses an identical one: same ETag means same bytes) and takes a ref. */
export async function addContent(db: SqlExecutor, c: NewContent): Promise<number> {
  const same = await db.get<{ id: number }>('SELECT id FROM contents WHERE etag = ? AND size = ? LIMIT 1', [c.etag, c.size]);
  if (same) {
    await db.run('UPDATE contents SET refcount = refcount + 1 WHERE id = ?', [same.id]);
    return Number(same.id);
  }
  const row = await db.get<{ id: number }>('INSERT INTO contents (size, etag, inline_data, refcount) VALUES (?, ?, ?, 1) RETURNING id', [
    c.size,
    c.etag,
    c.inline,
  ]);
  const id = Number(row!.id);
  let offset = 0;
  for (let seq = 0; seq < c.chunks.length; seq++) {
    const ch = c.chunks[seq]!;
    await db.run(
      `INSERT INTO chunks (hash, size, refcount, zero_since_ms) VALUES (?, ?, 1, NULL)
       ON CONFLICT (hash) DO UPDATE SET refcount = chunks.refcount + 1, zero_since_ms = NULL`,
      [ch.hash, ch.length],
    );
    await db.run('INSERT INTO content_chunks (content_id, seq, chunk_hash, "offset", length) VALUES (?, ?, ?, ?, ?)', [id, seq, ch.hash, offset, ch.length]);
    offset += ch.length;
  }
  if (offset !== c.size && c.inline === null) throw new FsError('EINVAL', `chunk sizes add to ${offset}, not ${c.size}`);
  return id;
}

/** Drops `count` refs to a content; the last ref deletes it and releases its chunks (I2, I3). */
export async function releaseContent(db: SqlExecutor, contentId: number, t: number, count = 1): Promise<void> {
  // Not UPDATE … RETURNING: on SQLite it measured slower than the two statements (it fills a temporary table).
  await db.run('UPDATE contents SET refcount = refcount - ? WHERE id = ?', [count, contentId]);
  const left = await db.get<{ refcount: number }>('SELECT refcount FROM contents WHERE id = ?', [contentId]);
  if (!left || Number(left.refcount) > 0) return;
  const uses = await db.all<{ chunk_hash: string; n: number }>(
    'SELECT chunk_hash, COUNT(*) AS n FROM content_chunks WHERE content_id = ? GROUP BY chunk_hash',
    [contentId],
  );
  for (const u of uses) {
    await db.run(
      `UPDATE chunks SET refcount = refcount - ?,
         zero_since_ms = CASE WHEN refcount - ? = 0 THEN ? ELSE zero_since_ms END
       WHERE hash = ?`,
      [u.n, u.n, t, u.chunk_hash],
    );
  }
  await db.run('DELETE FROM content_chunks WHERE content_id = ?', [contentId]);
  await db.run('DELETE FROM contents WHERE id = ?', [contentId]);
}

/** Every chunk row in hash order, fetched 1,000 at a time (keyset paging). */
export async function* listChunks(db: SqlExecutor): AsyncIterable<{ hash: string; size: number; refcount: number }> {
  let after = '';
  for (;;) {
    const rows = await db.all<{ hash: string; size: number; refcount: number }>('SELECT hash, size, refcount FROM chunks WHERE hash > ? ORDER BY hash LIMIT 1000', [
      after,
    ]);
    for (const r of rows) yield { hash: r.hash, size: Number(r.size), refcount: Number(r.refcount) };
    if (rows.length < 1000) return;
    after = rows[rows.length - 1]!.hash;
  }
}
