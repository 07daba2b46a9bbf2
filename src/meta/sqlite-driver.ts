// SQLite dialect of the metadata store, on better-sqlite3 (the only file importing it).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Mutex } from '../core/mutex.js';
import { FsError } from '../core/errors.js';
import type { RunResult, SnapshotProgress, SqlDialect, SqlDriver, SqlExecutor, SqlValue } from './sql-driver.js';

const SQLITE_DIALECT: SqlDialect = {
  name: 'sqlite',
  idType: 'INTEGER PRIMARY KEY',
  bigintType: 'INTEGER',
  blobType: 'BLOB',
};

/** Pages copied per event-loop turn by snapshotTo (4 KiB pages: 4 MiB), so requests keep flowing. */
const SNAPSHOT_PAGES_PER_STEP = 1024;

/**
 * One connection, used by one process. better-sqlite3 is synchronous, but a transaction body is
 * async (the store's code awaits between statements), so every access goes through a mutex: no
 * other request's statement can run inside someone else's open transaction.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = SQLITE_DIALECT;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly mutex = new Mutex();
  private readonly direct: SqlExecutor;

  constructor(private readonly file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    try {
      this.db = new Database(file);
    } catch (err) {
      throw new FsError('EIO', `cannot open SQLite database ${file}: ${(err as Error).message}`, { cause: err });
    }
    // WAL: readers never block the writer and a crash at any point leaves the last commit intact.
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable against process crashes; FULL adds an fsync per commit so an
    // acknowledged write also survives power loss (DESIGN.md: a 201 means committed).
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.direct = {
      all: (sql, params) => Promise.resolve(this.prepare(sql).all(...(params ?? [])) as never),
      get: (sql, params) => Promise.resolve(this.prepare(sql).get(...(params ?? [])) as never),
      run: (sql, params) => Promise.resolve(this.runNow(sql, params)),
    };
  }

  all<T>(sql: string, params?: SqlValue[]): Promise<T[]> {
    return this.mutex.run(() => this.prepare(sql).all(...(params ?? [])) as T[]);
  }

  get<T>(sql: string, params?: SqlValue[]): Promise<T | undefined> {
    return this.mutex.run(() => this.prepare(sql).get(...(params ?? [])) as T | undefined);
  }

  run(sql: string, params?: SqlValue[]): Promise<RunResult> {
    return this.mutex.run(() => this.runNow(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.mutex.run(() => {
      this.db.exec(sql);
    });
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      // IMMEDIATE takes the write lock at once, so two processes on one file (serve and mount)
      // serialise instead of failing with SQLITE_BUSY at commit.
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async snapshotTo(file: string, onProgress?: SnapshotProgress): Promise<void> {
    const progress = ({ totalPages, remainingPages }: { totalPages: number; remainingPages: number }) => {
      onProgress?.(totalPages - remainingPages, totalPages);
      return SNAPSHOT_PAGES_PER_STEP;
    };
    if (this.file === ':memory:') {
      // No second connection can see an in-memory database; hold the mutex so no transaction is open.
      await this.mutex.run(() => this.db.backup(file, { progress }));
      return;
    }
    // Not from this connection: a transaction body awaits between statements, so a backup step
    // could copy a half-done transaction. A second, read-only connection holding one read
    // transaction sees a fixed snapshot of committed data (WAL), which keeps the copy consistent
    // and lets this connection keep writing meanwhile; without that open transaction SQLite would
    // restart the copy after every commit, and a busy store might never finish.
    let reader: Database.Database;
    try {
      reader = new Database(this.file, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new FsError('EIO', `cannot open SQLite database ${this.file} for a snapshot: ${(err as Error).message}`, { cause: err });
    }
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM sqlite_schema').get(); // starts the read transaction
      await reader.backup(file, { progress });
      reader.exec('COMMIT');
    } catch (err) {
      throw new FsError('EIO', `snapshot of ${this.file} to ${file} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      reader.close();
    }
  }

  async close(): Promise<void> {
    await this.mutex.run(() => this.db.close());
  }

  private runNow(sql: string, params?: SqlValue[]): RunResult {
    const info = this.prepare(sql).run(...(params ?? []));
    return { changes: info.changes };
  }

  private prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }
}
