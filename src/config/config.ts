// Loads the configuration: config/default.yaml < --config file < DAVFS_* environment < flags,
// validated in one place so every bad value is reported with its name and source.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { validate as validCron } from 'node-cron';
import { parseSize } from './size.js';
import { parseDuration } from './duration.js';

export const DEFAULT_CONFIG_FILE = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

/** Environment variables and the setting each one sets (documented in config/default.yaml). */
export const ENV_SETTINGS: Record<string, string> = {
  DAVFS_DATA: 'data',
  DAVFS_LISTEN: 'listen',
  DAVFS_STORE: 'store',
  DAVFS_META: 'meta',
  DAVFS_CACHE_DIR: 'cache.dir',
  DAVFS_CACHE_SIZE: 'cache.size',
  DAVFS_CHUNKING_MIN: 'chunking.min',
  DAVFS_CHUNKING_AVG: 'chunking.avg',
  DAVFS_CHUNKING_MAX: 'chunking.max',
  DAVFS_INLINE_MAX: 'inline_max',
  DAVFS_UPLOAD_CONCURRENCY: 'upload_concurrency',
  DAVFS_WRITE_MODE: 'write_mode',
  DAVFS_WRITE_BACK_DELAY: 'write_back_delay',
  DAVFS_READ_AHEAD: 'read_ahead',
  DAVFS_DOWNLOAD_CONCURRENCY: 'download_concurrency',
  DAVFS_VERIFY_DOWNLOADS: 'verify_downloads',
  DAVFS_MAX_UPLOAD: 'max_upload',
  DAVFS_WEBDAV_PROPFIND_INFINITY: 'webdav.propfind_infinity',
  DAVFS_WEBDAV_MAX_XML_BODY: 'webdav.max_xml_body',
  DAVFS_WEBDAV_LOCK_MAX_TIMEOUT: 'webdav.lock_max_timeout',
  DAVFS_LOG_LEVEL: 'log_level',
  DAVFS_AUTH_ENABLED: 'auth.enabled',
  DAVFS_AUTH_REALM: 'auth.realm',
  DAVFS_AUTH_DIGEST: 'auth.digest',
  DAVFS_AUTH_MAX_FAILURES: 'auth.max_failures',
  DAVFS_AUTH_FAILURE_WINDOW: 'auth.failure_window',
  DAVFS_AUTH_BLOCK: 'auth.block',
  DAVFS_TLS_CERT: 'tls.cert',
  DAVFS_TLS_KEY: 'tls.key',
  DAVFS_TLS_SELF_SIGNED: 'tls.self_signed',
  DAVFS_JOBS_CACHE_PURGE_ENABLED: 'jobs.cache_purge.enabled',
  DAVFS_JOBS_CACHE_PURGE_CRON: 'jobs.cache_purge.cron',
  DAVFS_JOBS_CACHE_PURGE_HIGH_WATER: 'jobs.cache_purge.high_water',
  DAVFS_JOBS_CACHE_PURGE_LOW_WATER: 'jobs.cache_purge.low_water',
  DAVFS_JOBS_LOCK_SWEEP_ENABLED: 'jobs.lock_sweep.enabled',
  DAVFS_JOBS_LOCK_SWEEP_CRON: 'jobs.lock_sweep.cron',
  DAVFS_JOBS_GC_ENABLED: 'jobs.gc.enabled',
  DAVFS_JOBS_GC_CRON: 'jobs.gc.cron',
  DAVFS_JOBS_GC_GRACE: 'jobs.gc.grace',
  DAVFS_JOBS_SNAPSHOT_ENABLED: 'jobs.snapshot.enabled',
  DAVFS_JOBS_SNAPSHOT_CRON: 'jobs.snapshot.cron',
  DAVFS_JOBS_SNAPSHOT_KEEP: 'jobs.snapshot.keep',
};

const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseSize(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const listen = z.string().transform((v, ctx) => {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]*)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not HOST:PORT (examples: 127.0.0.1:8080, 0.0.0.0:80, [::1]:8080)` });
    return z.NEVER;
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
});
const bool = z.union([z.boolean(), z.enum(['true', 'false'])]).transform((v) => v === true || v === 'true');
const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
// node-cron syntax: five fields, or six with seconds first ("*/10 * * * * *").
const cron = z.string().refine((v) => validCron(v), {
  message: 'is not a cron expression (examples: "*/5 * * * *" every 5 minutes, "0 */6 * * *" every 6 hours)',
});
/** A fraction of cache.size, above 0 and at most 1. */
const fraction = z.coerce.number().gt(0).max(1);
const job = <T extends z.ZodRawShape>(extra: T) => z.strictObject({ enabled: bool, cron, ...extra });
const url = (schemes: string[]) =>
  z.string().refine((v) => v === '' || schemes.some((s) => v.startsWith(`${s}://`)), {
    message: `must be empty or start with ${schemes.map((s) => `${s}://`).join(' or ')}`,
  });

const RawConfig = z.strictObject({
  data: z.string().min(1),
  listen,
  store: url(['file', 's3']),
  meta: url(['sqlite']),
  cache: z.strictObject({ dir: z.string(), size }),
  chunking: z.strictObject({ min: size, avg: size, max: size }),
  inline_max: size,
  upload_concurrency: count(1, 64),
  write_mode: z.enum(['durable', 'writeback']),
  write_back_delay: duration,
  read_ahead: count(0, 16),
  download_concurrency: count(1, 64),
  verify_downloads: bool,
  max_upload: size,
  webdav: z.strictObject({
    propfind_infinity: z.union([z.boolean(), z.enum(['true', 'false'])]).transform((v) => v === true || v === 'true'),
    max_xml_body: size,
    lock_max_timeout: count(1, 7 * 24 * 3600),
  }),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug']),
  auth: z.strictObject({
    enabled: bool,
    realm: z.string().min(1).max(100),
    digest: bool,
    max_failures: count(1, 1_000_000),
    failure_window: duration,
    block: duration,
  }),
  tls: z.strictObject({ cert: z.string(), key: z.string(), self_signed: bool }),
  jobs: z.strictObject({
    cache_purge: job({ high_water: fraction, low_water: fraction }),
    lock_sweep: job({}),
    gc: job({ grace: duration }),
    snapshot: job({ keep: count(1, 10_000) }),
  }),
});

export interface Config {
  data: string;
  listen: { host: string; port: number };
  /** Object store URL, derived from `data` when not set. */
  store: string;
  /** Metadata store URL, derived from `data` when not set. */
  meta: string;
  cache: { dir: string; size: number };
  chunking: { minSize: number; avgSize: number; maxSize: number };
  inlineMax: number;
  uploadConcurrency: number;
  /**
   * When a write is acknowledged: `durable` once its chunks are in the object store, `writeback`
   * once they are fsynced in the cache's staging area (uploaded in the background, replayed after
   * a restart; chunks/write-back.ts).
   */
  writeMode: 'durable' | 'writeback';
  /** Write-back: uploads start once no chunk was staged for this long (ms). */
  writeBackDelayMs: number;
  readAhead: number;
  /** Chunk downloads in flight at once for read-ahead (ChunkStore's prefetchConcurrency). */
  downloadConcurrency: number;
  /** Check each chunk downloaded from the object store against its SHA-256 name. */
  verifyDownloads: boolean;
  maxUpload: number;
  webdav: { propfindInfinity: boolean; maxXmlBody: number; lockMaxTimeoutS: number };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug';
  /** Who may use the server (src/auth, src/http/authenticate.ts). */
  auth: { enabled: boolean; realm: string; digest: boolean; maxFailures: number; failureWindowMs: number; blockMs: number };
  /** Certificate and key files, or a self-signed pair kept in <data>/tls. */
  tls: { cert: string; key: string; selfSigned: boolean };
  /** Scheduled jobs (src/jobs/), each with a node-cron expression. */
  jobs: {
    /** Purge the cache to lowWater × cache.size when it holds more than highWater × cache.size. */
    cachePurge: { enabled: boolean; cron: string; highWater: number; lowWater: number };
    lockSweep: { enabled: boolean; cron: string };
    /** Delete chunks unreferenced for longer than graceMs. */
    gc: { enabled: boolean; cron: string; graceMs: number };
    /** Ship a metadata snapshot to the object store, keeping the newest `keep`. */
    snapshot: { enabled: boolean; cron: string; keep: number };
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Tree = { [key: string]: unknown };

export interface ConfigSources {
  /** --config FILE */
  file?: string;
  /** Usually process.env; only DAVFS_* names are read. */
  env?: NodeJS.ProcessEnv;
  /** Flag values by dotted setting name, e.g. { 'cache.size': '4GiB' }. */
  flags?: Record<string, string | undefined>;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const problems: string[] = [];
  const merged = readYaml(DEFAULT_CONFIG_FILE, problems);
  if (sources.file) merge(merged, readYaml(sources.file, problems), sources.file, problems);
  for (const [name, value] of Object.entries(sources.env ?? {})) {
    if (!name.startsWith('DAVFS_') || value === undefined) continue;
    const key = ENV_SETTINGS[name];
    // DAVFS_PASSWORD and friends belong to other commands; only flag names that look like typos.
    if (key) setPath(merged, key, value);
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) if (value !== undefined) setPath(merged, key, value);
  if (problems.length) throw new ConfigError(problems);

  const parsed = RawConfig.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}${sourceHint(i.path.join('.'))}`));
  }
  const c = parsed.data;
  const data = resolve(c.data);
  if (!(c.chunking.min < c.chunking.avg && c.chunking.avg < c.chunking.max)) {
    throw new ConfigError([`chunking: need min < avg < max, got ${c.chunking.min} / ${c.chunking.avg} / ${c.chunking.max}`]);
  }
  const purge = c.jobs.cache_purge;
  if (purge.low_water >= purge.high_water) {
    throw new ConfigError([`jobs.cache_purge: need low_water < high_water, got ${purge.low_water} / ${purge.high_water}`]);
  }
  return {
    data,
    listen: c.listen,
    store: c.store || `file://${resolve(data, 'objects')}`,
    meta: c.meta || `sqlite://${resolve(data, 'meta.db')}`,
    cache: { dir: c.cache.dir ? resolve(c.cache.dir) : resolve(data, 'cache'), size: c.cache.size },
    chunking: { minSize: c.chunking.min, avgSize: c.chunking.avg, maxSize: c.chunking.max },
    inlineMax: c.inline_max,
    uploadConcurrency: c.upload_concurrency,
    writeMode: c.write_mode,
    writeBackDelayMs: c.write_back_delay,
    readAhead: c.read_ahead,
    downloadConcurrency: c.download_concurrency,
    verifyDownloads: c.verify_downloads,
    maxUpload: c.max_upload,
    webdav: { propfindInfinity: c.webdav.propfind_infinity, maxXmlBody: c.webdav.max_xml_body, lockMaxTimeoutS: c.webdav.lock_max_timeout },
    logLevel: c.log_level,
    auth: {
      enabled: c.auth.enabled,
      realm: c.auth.realm,
      digest: c.auth.digest,
      maxFailures: c.auth.max_failures,
      failureWindowMs: c.auth.failure_window,
      blockMs: c.auth.block,
    },
    tls: { cert: c.tls.cert ? resolve(c.tls.cert) : '', key: c.tls.key ? resolve(c.tls.key) : '', selfSigned: c.tls.self_signed },
    jobs: {
      cachePurge: { enabled: purge.enabled, cron: purge.cron, highWater: purge.high_water, lowWater: purge.low_water },
      lockSweep: { enabled: c.jobs.lock_sweep.enabled, cron: c.jobs.lock_sweep.cron },
      gc: { enabled: c.jobs.gc.enabled, cron: c.jobs.gc.cron, graceMs: c.jobs.gc.grace },
      snapshot: { enabled: c.jobs.snapshot.enabled, cron: c.jobs.snapshot.cron, keep: c.jobs.snapshot.keep },
    },
  };
}

function sourceHint(key: string): string {
  const env = Object.entries(ENV_SETTINGS).find(([, k]) => k === key)?.[0];
  return env ? ` (set in a config file, ${env} or a flag)` : '';
}

function readYaml(file: string, problems: string[]): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return {};
  }
  try {
    const doc: unknown = parseYaml(text) ?? {};
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error('top level must be a mapping');
    return doc as Tree;
  } catch (err) {
    problems.push(`config file ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    return {};
  }
}

/** Merges `over` into `base`, refusing keys the defaults do not know (typos must not pass). */
function merge(base: Tree, over: Tree, file: string, problems: string[], prefix = ''): void {
  for (const [k, v] of Object.entries(over)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (!(k in base)) {
      problems.push(`${file}: unknown setting "${key}"`);
    } else if (isTree(base[k])) {
      if (isTree(v)) merge(base[k] as Tree, v, file, problems, key);
      else problems.push(`${file}: "${key}" must be a mapping`);
    } else {
      base[k] = v;
    }
  }
}

function setPath(tree: Tree, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let t = tree;
  for (const k of keys.slice(0, -1)) {
    if (!isTree(t[k])) t[k] = {};
    t = t[k] as Tree;
  }
  t[keys[keys.length - 1]!] = value;
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
