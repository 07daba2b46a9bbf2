// `davfs-bridge serve`: load the configuration, open the core, serve WebDAV until a signal.
import type { Command } from 'commander';
import { mkdir } from 'node:fs/promises';
import { loadConfig, type ConfigSources } from '../config/config.js';
import { createLogger } from '../core/log.js';
import { openCore, sqliteFileOf } from '../app.js';
import { startServer } from '../http/server.js';
import { JobScheduler } from '../jobs/scheduler.js';
import { SNAPSHOT, standardJobs } from '../jobs/standard-jobs.js';
import { nodeStatus } from '../jobs/node-status.js';
import { claimCacheDir } from './cache.js';
import { serverSecurity } from './serve-security.js';

/** Flags shared by every verb that opens the store (serve now; mount, gc, fsck later). */
export function addStoreOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'configuration file (YAML), see config/default.yaml')
    .option('--data <dir>', 'folder of the embedded default store [env DAVFS_DATA]')
    .option('--store <url>', 'object store URL: file://DIR or s3://bucket/prefix?endpoint=… [env DAVFS_STORE]')
    .option('--meta <url>', 'metadata store URL: sqlite://FILE [env DAVFS_META]')
    .option('--cache-dir <dir>', 'local chunk cache folder [env DAVFS_CACHE_DIR]')
    .option('--cache-size <size>', 'cache size limit, e.g. 2GiB [env DAVFS_CACHE_SIZE]')
    .option('--log-level <level>', 'fatal, error, warn, info or debug [env DAVFS_LOG_LEVEL]');
}

export interface StoreFlags {
  config?: string;
  data?: string;
  store?: string;
  meta?: string;
  cacheDir?: string;
  cacheSize?: string;
  logLevel?: string;
  listen?: string;
  auth?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsSelfSigned?: boolean;
}

export function configSources(flags: StoreFlags): ConfigSources {
  return {
    file: flags.config,
    env: process.env,
    flags: {
      data: flags.data,
      store: flags.store,
      meta: flags.meta,
      'cache.dir': flags.cacheDir,
      'cache.size': flags.cacheSize,
      log_level: flags.logLevel,
      listen: flags.listen,
      // commander gives `auth: false` for --no-auth and true when absent: only pass the flag's "no".
      'auth.enabled': flags.auth === false ? 'false' : undefined,
      'tls.cert': flags.tlsCert,
      'tls.key': flags.tlsKey,
      'tls.self_signed': flags.tlsSelfSigned ? 'true' : undefined,
    },
  };
}

export function registerServe(program: Command): void {
  addStoreOptions(program.command('serve').description('serve the store over WebDAV'))
    .option('--listen <host:port>', 'address to listen on (default 0.0.0.0:8080) [env DAVFS_LISTEN]')
    .option('--no-auth', 'no authentication: anyone who reaches the port has the whole tree (behind an authenticating proxy only) [env DAVFS_AUTH_ENABLED=false]')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate [env DAVFS_TLS_CERT]')
    .option('--tls-key <file>', "the certificate's PEM key [env DAVFS_TLS_KEY]")
    .option('--tls-self-signed', 'serve HTTPS with a self-signed certificate kept in <data>/tls [env DAVFS_TLS_SELF_SIGNED]')
    .action(async (flags: StoreFlags) => {
      const config = loadConfig(configSources(flags));
      const log = createLogger(config.logLevel);
      // Claim the cache folder before opening the core, whose start replays the staging area.
      await mkdir(config.cache.dir, { recursive: true });
      const releaseCache = await claimCacheDir(config.cache.dir, log);
      const core = await openCore(config, log);
      const startedMs = Date.now();
      const scheduler = new JobScheduler(standardJobs(core, config.jobs), log);
      const dav = { maxUpload: config.maxUpload, maxXmlBody: config.webdav.maxXmlBody, allowInfiniteDepth: config.webdav.propfindInfinity };
      const status = () => nodeStatus({ cache: core.cache, chunks: core.chunks, scheduler, startedMs });
      const security = await serverSecurity(config, core.meta, log);
      const server = await startServer({ tree: { vfs: core.vfs, locks: core.locks }, dav, ...security, listen: config.listen, status }, log);
      scheduler.start();
      for (const line of security.banner) console.log(line);
      console.log(`davfs-bridge serving ${server.url} (data: ${config.data})`);
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) {
          // A shutdown stuck on the store (the last snapshot, write-back uploads): leave now.
          log.warn({ signal }, 'second signal: exiting before shutdown finished');
          process.exit(1);
        }
        stopping = true;
        log.info({ signal }, 'stopping');
        await server.close();
        await scheduler.stop();
        // DESIGN.md "Durability of metadata": snapshots on a schedule and at shutdown.
        if (config.jobs.snapshot.enabled && sqliteFileOf(config.meta) !== undefined) await scheduler.runNow(SNAPSHOT, 'shutdown');
        // Closing the core flushes write-back uploads into the cache: release the claim after it.
        await core.close();
        await releaseCache();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
