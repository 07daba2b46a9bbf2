// What `RemoteFileSystem.connect` takes, with the defaults, and the logger it writes to (any
// pino-like logger fits).

export interface RemoteLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RemoteOptions {
  /** The server's URL (`https://host/dav/`); credentials in it are taken out and sent as Basic auth. */
  url: string;
  user?: string;
  password?: string;
  /** A bearer token (`Authorization: Bearer …`); wins over user/password. */
  token?: string;
  /** Folder of the block cache; default: a temporary folder removed by close(). */
  cacheDir?: string;
  /** Bytes the block cache may hold (default 1 GiB; 0 turns it off). */
  cacheBytes?: number;
  /** How long PROPFIND answers are trusted (default 1000 ms; 0: ask every time). */
  attrTtlMs?: number;
  log?: RemoteLog;
  /** Size of a cached block and of the ranged GETs that fill it (default 1 MiB). */
  blockBytes?: number;
  /** Blocks fetched ahead of a sequential reader, and concurrently inside one large read (default 4). */
  readAheadBlocks?: number;
  /** Timeout asked for by lock(); the lock is refreshed at half of it while held (default 600 s). */
  lockTimeoutS?: number;
}

export const DEFAULTS = {
  cacheBytes: 1024 ** 3,
  attrTtlMs: 1000,
  blockBytes: 1024 ** 2,
  readAheadBlocks: 4,
  lockTimeoutS: 600,
} as const;

export const SILENT_LOG: RemoteLog = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
