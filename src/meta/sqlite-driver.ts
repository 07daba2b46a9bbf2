// SQLite dialect of the metadata store, on better-sqlite3 (the only file importing it).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Mutex } from '../core/mutex.js';
import { FsError } from '../core/errors.js';
import { GroupSync } from '../core/group-sync.js';
import type { RunResult, SnapshotProgress, SqlDialect, SqlDriver, SqlExecutor, SqlValue } from './sql-driver.js';

const SQLITE_DIALECT: SqlDialect = {
  name: 'sqlite',
  idType: 'INTEGER PRIMARY KEY',
  bigintType: 'INTEGER',
  blobType: 'BLOB',
};

export interface SqliteDriverOptions {
  /**
   * true (the default, serve): a write resolves once its commit is durable (SQLite's
   * synchronous=FULL fsyncs the WAL inside each COMMIT). false: once it is committed (visible to
   * every connection, safe from a crash of this process: synchronous=NORMAL); it becomes durable
   * against power loss at the next sync(), which runs by itself at most `syncIntervalMs` after a
   * write. The FUSE mount uses false: close(2) promises no durability, fsync(2) does (POSIX),
   * and an fsync per close cost 3 of 14 s creating 10,000 small files.
   */
  durableCommits?: boolean;
  syncIntervalMs?: number;
  /** fsync of the write-ahead log file; replaceable for tests. */
  fsyncWal?: (walFile: string) => Promise<void>;
}

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
  private readonly durableCommits: boolean;
  private readonly syncIntervalMs: number;
  private readonly walSync: GroupSync;
  /** Write commits so far, and how many of them an fsync of the WAL has covered. */
  private writes = 0;
  private syncedWrites = 0;
  private syncTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: string,
    opts: SqliteDriverOptions = {},
  ) {
    this.durableCommits = opts.durableCommits ?? true;
    this.syncIntervalMs = opts.syncIntervalMs ?? 1000;
    const fsync = opts.fsyncWal ?? fsyncWal;
    this.walSync = new GroupSync(() => fsync(`${file}-wal`));
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    try {
      this.db = new Database(file);
    } catch (err) {
      throw new FsError('EIO', `cannot open SQLite database ${file}: ${(err as Error).message}`, { cause: err });
    }
    // WAL: readers never block the writer and a crash at any point leaves the last commit intact.
    this.db.pragma('journal_mode = WAL');
    // FULL: an acknowledged write survives power loss (DESIGN.md: a 201 means committed). NORMAL
    // in WAL mode is durable against process crashes, and checkpoints still fsync; sync() then
    // fsyncs the WAL off the event loop, one fsync for every commit waiting (a group commit).
    // Serve keeps FULL: doing its fsyncs that way instead made 1,000 sequential 4 KiB PUTs 20%
    // slower (592-688 against 835-858 files/s: three thread-pool round trips after each COMMIT).
    this.db.pragma(this.durableCommits ? 'synchronous = FULL' : 'synchronous = NORMAL');
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

  async run(sql: string, params?: SqlValue[]): Promise<RunResult> {
    const result = await this.mutex.run(() => this.runNow(sql, params));
    this.wrote();
    return result;
  }

  async exec(sql: string): Promise<void> {
    await this.mutex.run(() => {
      this.db.exec(sql);
    });
    this.wrote();
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const result = await this.mutex.run(async () => {
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
    this.wrote();
    return result;
  }

  /** Makes every commit so far durable; resolves at once when an earlier fsync covered them. */
  async sync(): Promise<void> {
    const upTo = this.writes;
    if (this.durableCommits || this.syncedWrites >= upTo || this.file === ':memory:') return;
    await this.walSync.sync();
    this.syncedWrites = Math.max(this.syncedWrites, upTo);
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
    clearTimeout(this.syncTimer);
    // Closing checkpoints the WAL into the database file and fsyncs it.
    await this.mutex.run(() => this.db.close());
  }

  /** After a write commit without its own fsync: have one run within syncIntervalMs. */
  private wrote(): void {
    if (this.durableCommits) return;
    this.writes++;
    this.syncTimer ??= setTimeout(() => {
      this.syncTimer = undefined;
      // A failure here is not lost: the next sync() call fsyncs again and reports it.
      this.sync().catch(() => undefined);
    }, this.syncIntervalMs).unref();
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

/** fsync of the write-ahead log. None (ENOENT) means no commit is waiting in it. */
async function fsyncWal(wal: string): Promise<void> {
  try {
    // fdatasync, as SQLite's own WAL sync: the file's times need not reach the disk.
    const handle = await open(wal, 'r');
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
