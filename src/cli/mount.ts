// `davfs-bridge mount MOUNTPOINT` and `davfs-bridge unmount MOUNTPOINT`: the store as a FUSE
// drive, opened from the same configuration and flags as `serve` (and able to run beside it on
// the same database), in the foreground with its log on stdout, or detached with --daemon.
//
// Cache folder: `serve` claims its cache folder (cache.ts), and two processes must never share
// one, so the mount uses `<cache.dir>-mount` unless --cache-dir is given on its command line.
import type { Command } from 'commander';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfig, type Config } from '../config/config.js';
import { parseSize } from '../config/size.js';
import { FsError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/log.js';
import { openCore } from '../app.js';
import { mountFileSystem } from '../fuse/fuse-mount.js';
import { prepareMountpoint, unmountMountpoint } from '../fuse/mountpoint.js';
import type { FileSystem } from '../vfs/file-system.js';
import { addStoreOptions, configSources, type StoreFlags } from './serve.js';
import { claimCacheDir } from './cache.js';
import { inDaemonChild, reportToParent, startDaemon } from './daemon.js';
import { openRemote, type RemoteFlags } from './mount-remote.js';
import type { FileLocker } from '../fuse/write-locks.js';

export interface MountFlags extends StoreFlags, RemoteFlags {
  attrTimeout: string;
  entryTimeout: string;
  attrCache: string;
  commitDelay: string;
  maxRead: string;
  allowOther?: boolean;
  daemon?: boolean;
  pidFile?: string;
  logFile?: string;
  debugFuse?: boolean;
}

/** What a mount serves: a FileSystem, a folder for its staged writes, and how to close it. */
export interface MountTarget {
  fs: FileSystem;
  /** Shown in the "mounted" line and by df (fsname). */
  description: string;
  /** The mount's own folder (its cache folder): staged writes and the hidden-file journal live there. */
  stateDir: string;
  /** Locks held while files are open for writing (remote mode on a class 2 server). */
  locker?: FileLocker;
  close(): Promise<void>;
}

/** Bytes a streaming write holds ahead of the store (the store's write path takes 1-4 MiB chunks). */
const STREAM_BUFFER = 16 << 20;

/**
 * The one place that chooses what the mount serves: the local core (store and metadata of the
 * configuration) with its own cache folder, or a WebDAV server (--remote) with a block cache.
 */
export async function openMountFileSystem(flags: MountFlags, config: Config, log: Logger): Promise<MountTarget> {
  const remote = flags.remote;
  const cacheDir = flags.cacheDir !== undefined ? config.cache.dir : `${config.cache.dir}-${remote ? 'remote' : 'mount'}`;
  await mkdir(cacheDir, { recursive: true });
  // Claimed before the core opens: opening replays the cache's staging area.
  const releaseCache = await claimCacheDir(cacheDir, log);
  try {
    if (remote) {
      const target = await openRemote({ ...flags, remote }, cacheDir, config, log);
      return {
        ...target,
        stateDir: cacheDir,
        close: async () => {
          await target.close();
          await releaseCache();
        },
      };
    }
    // A commit is durable once the file is fsynced (POSIX promises no more for close), or within
    // a second: FuseFs.fsync calls sync(); WebDAV's serve keeps a durable commit per request.
    const core = await openCore({ ...config, cache: { ...config.cache, dir: cacheDir } }, log, { durableCommits: false });
    return {
      fs: core.vfs,
      description: core.objects.description,
      stateDir: cacheDir,
      close: async () => {
        await core.close();
        await releaseCache();
      },
    };
  } catch (err) {
    await releaseCache();
    throw err;
  }
}

export function registerMount(program: Command): void {
  addStoreOptions(program.command('mount').argument('<mountpoint>', 'an existing empty folder').description('mount the store as a FUSE drive'))
    .option('--remote <url>', 'mount this WebDAV server (davfs-bridge or any class 2 server) instead of the local store')
    .option('--user <name>', 'with --remote: log in as NAME; the password comes from --password-file, DAVFS_PASSWORD or a prompt (DAVFS_TOKEN: a bearer token instead)')
    .option('--password-file <file>', 'with --remote: read the password from this file')
    .option('--attr-timeout <seconds>', 'seconds the kernel caches file attributes', '1')
    .option('--entry-timeout <seconds>', 'seconds the kernel caches names', '1')
    .option('--attr-cache <seconds>', 'seconds this process caches attributes (0: off); changes made elsewhere show after it', '1')
    .option('--commit-delay <seconds>', 'write_mode writeback: seconds from the last close of a file to its commit (a close returns once the bytes are spooled locally)', '0')
    .option('--max-read <size>', 'largest read request (the kernel sends at most 128KiB)', '128KiB')
    .option('--allow-other', 'let other users use the mount (needs user_allow_other in /etc/fuse.conf unless root)')
    .option('--daemon', 'detach once mounted; logs go to --log-file')
    .option('--pid-file <file>', 'write the mount process id here while it runs')
    .option('--log-file <file>', 'with --daemon: append the log here (default: discarded)')
    .option('--debug-fuse', 'libfuse debug output on stderr (every request)')
    .action(async (mountpoint: string, flags: MountFlags) => {
      if (flags.daemon && !inDaemonChild()) {
        try {
          const pid = await startDaemon(process.argv.slice(1).filter((a) => a !== '--daemon'), flags.logFile);
          console.log(`davfs-bridge mounted at ${resolve(mountpoint)} (pid ${pid})`);
          return;
        } catch (err) {
          // The child's own one-line message (it failed before it was ready).
          console.error(`davfs-bridge: ${(err as Error).message}`);
          process.exit(1);
        }
      }
      try {
        await runMount(mountpoint, flags);
      } catch (err) {
        await reportToParent({ error: (err as Error).message });
        throw err;
      }
    });

  program
    .command('unmount')
    .argument('<mountpoint>')
    .description('unmount a davfs-bridge mount; its process commits what is open and exits')
    .option('-z, --lazy', 'detach even while files are open (they keep working until closed)')
    .action(async (mountpoint: string, flags: { lazy?: boolean }) => {
      await unmountMountpoint(resolve(mountpoint), flags.lazy ?? false);
      console.log(`davfs-bridge unmounted ${resolve(mountpoint)}`);
    });
}

async function runMount(mountpoint: string, flags: MountFlags): Promise<void> {
  const config = loadConfig(configSources(flags));
  const log = createLogger(config.logLevel);
  // Refuse a missing or busy mountpoint (and clear a stale one) before opening the store.
  await prepareMountpoint(resolve(mountpoint), log);
  const target = await openMountFileSystem(flags, config, log);
  let mounted;
  try {
    mounted = await mountFileSystem(
      target.fs,
      {
        mountpoint: resolve(mountpoint),
        stateDir: target.stateDir,
        attrTimeout: seconds(flags.attrTimeout, '--attr-timeout'),
        entryTimeout: seconds(flags.entryTimeout, '--entry-timeout'),
        attrCacheMs: seconds(flags.attrCache, '--attr-cache') * 1000,
        // Write-back acknowledges writes before they reach the object store; a close then returns
        // before the commit too, once the bytes are spooled (as rclone's full cache mode does).
        ...(!flags.remote && config.writeMode === 'writeback' ? commitAfterClose(seconds(flags.commitDelay, '--commit-delay'), config.inlineMax) : {}),
        maxRead: size(flags.maxRead, '--max-read'),
        allowOther: flags.allowOther ?? false,
        debug: flags.debugFuse ?? false,
        streamBuffer: STREAM_BUFFER,
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0,
        fsname: 'davfs-bridge',
        locker: target.locker,
      },
      log,
    );
  } catch (err) {
    await target.close();
    throw err;
  }
  if (flags.pidFile) await writeFile(flags.pidFile, `${process.pid}\n`);
  console.log(`davfs-bridge mounted ${target.description} at ${mounted.mountpoint}`);
  await reportToParent({ ready: true });

  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) {
      log.warn({ reason }, 'second signal: exiting before the unmount finished');
      process.exit(1);
    }
    stopping = true;
    log.info({ reason }, 'unmounting');
    await mounted.unmount();
    await target.close();
    if (flags.pidFile) await rm(flags.pidFile, { force: true });
    log.info({ mountpoint: mounted.mountpoint }, 'unmounted');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // A daemon has no terminal to hang up; a foreground mount treats a hang-up as a stop.
  process.on('SIGHUP', () => (inDaemonChild() ? undefined : void stop('SIGHUP')));
  void mounted.unmountedElsewhere.then(() => stop('unmounted from outside'));
}

/**
 * Write-back's close: it returns once the bytes are spooled, and the commit follows `delayS`
 * later. With no delay asked for, files up to inline_max are held in memory and committed at the
 * close instead: their commit is one metadata row (no object store request), cheaper than the
 * spool file. A delay is asked for to let rewrites of a file coalesce into one commit, so then
 * they are spooled like the rest.
 */
function commitAfterClose(delayS: number, inlineMax: number): { commitAfterCloseMs: number; commitAtCloseUpTo?: number } {
  return { commitAfterCloseMs: delayS * 1000, ...(delayS === 0 ? { commitAtCloseUpTo: inlineMax } : {}) };
}

function seconds(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new FsError('EINVAL', `${flag}: "${text}" is not a number of seconds`);
  return n;
}

function size(text: string, flag: string): number {
  try {
    return parseSize(text);
  } catch (err) {
    throw new FsError('EINVAL', `${flag}: ${(err as Error).message}`);
  }
}
