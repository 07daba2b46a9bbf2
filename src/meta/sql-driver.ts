// The dialect seam: the few operations SqlMetaStore needs from a database driver. One file per
// database implements it (sqlite-driver.ts now, postgres-driver.ts for several nodes).

export type SqlValue = string | number | bigint | Buffer | null;

export interface RunResult {
  /** Rows changed by an INSERT/UPDATE/DELETE. */
  changes: number;
}

/** Queries with `?` placeholders; a driver whose database wants `$1` rewrites them. */
export interface SqlExecutor {
  all<T>(sql: string, params?: SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: SqlValue[]): Promise<T | undefined>;
  run(sql: string, params?: SqlValue[]): Promise<RunResult>;
}

export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /** Column type of an auto-assigned integer primary key. */
  readonly idType: string;
  readonly bigintType: string;
  readonly blobType: string;
}

export interface SqlDriver extends SqlExecutor {
  readonly dialect: SqlDialect;
  /** Runs DDL or several statements at once. */
  exec(sql: string): Promise<void>;
  /**
   * Runs `fn` in one serialisable transaction: commit when it resolves, roll back when it throws.
   * Inside `fn` use only the `tx` executor (calling the driver itself would wait for the
   * transaction to end: a deadlock). Do no network or disk I/O inside: transactions must be short.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Writes a consistent copy of the whole database to `file` (a new SQLite database) while the
   * store stays in use: the metadata snapshot of DESIGN.md "Durability of metadata". Only SQLite
   * implements it; a PostgreSQL driver throws FsError('EINVAL', 'not supported: use pg_dump'),
   * since such deployments rely on the database's own backups.
   */
  snapshotTo(file: string, onProgress?: SnapshotProgress): Promise<void>;
  /** Makes every commit so far durable (survive a power cut); cheap when nothing is waiting. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Progress of a snapshot, in database pages. */
export type SnapshotProgress = (done: number, total: number) => void;

/** Replaces the dialect's type tokens in portable DDL (see schema.ts). */
export function renderDdl(sql: string, dialect: SqlDialect): string {
  return sql
    .replaceAll('{{id}}', dialect.idType)
    .replaceAll('{{bigint}}', dialect.bigintType)
    .replaceAll('{{blob}}', dialect.blobType);
}
