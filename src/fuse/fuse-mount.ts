// Mounts a FileSystem at a folder: checks (and clears a stale mount at) the mountpoint, mounts the
// FUSE operations, notices an unmount made from outside (fusermount -u, umount, `davfs-bridge
// unmount`), and unmounts cleanly: open files are committed before and after the unmount.
import { join } from 'node:path';
import type { Logger } from '../core/log.js';
import type { FileSystem } from '../vfs/file-system.js';
import { isExpectedErrno } from './errno.js';
import { mountFuse, type KernelOptions } from './fuse-binding.js';
import { FuseFs } from './fuse-fs.js';
import { HiddenFiles } from './hidden-files.js';
import { canonicalMountpoint, isMounted, prepareMountpoint } from './mountpoint.js';
import { replaySpool } from './replay-spool.js';
import type { FileLocker } from './write-locks.js';

export interface MountOptions extends Omit<KernelOptions, 'fsname'> {
  mountpoint: string;
  /**
   * The mount's own folder. Its `open-files` holds staged writes, emptied at mount (what a crash
   * left was never acknowledged) except files closed and not committed yet (`commitAfterCloseMs`),
   * which are committed then (replay-spool.ts); its `hidden-files.json` lists files unlinked while
   * open (hidden-files.ts), removed at mount.
   */
  stateDir: string;
  /**
   * Let a close return before the commit (write_mode writeback), which follows this many ms after
   * the file's last close; undefined: every close commits first.
   */
  commitAfterCloseMs?: number;
  /** With commitAfterCloseMs: files that end within this many bytes commit at their close all the same (FuseFsOptions.spool). */
  commitAtCloseUpTo?: number;
  /** User-space attribute cache lifetime in ms (0: off). */
  attrCacheMs: number;
  /** Bytes a streaming write buffers ahead of the store. */
  streamBuffer: number;
  /** Owner shown for nodes without a recorded one. */
  uid: number;
  gid: number;
  /** Source shown by mount(8) and df. */
  fsname: string;
  /** How often to look whether the mount is still in the mount table. */
  watchMs?: number;
  /** Locks held while files are open for writing (a remote server). */
  locker?: FileLocker;
}

/**
 * Commits after close: two at a time (a commit chunks and hashes on its own threads already), and
 * closes wait once 1000 closed files (each keeps its spool file open) or 4 GiB wait for a commit.
 */
const SPOOL_BACKLOG = { concurrency: 2, maxFiles: 1000, maxBytes: 4 * 1024 ** 3 };

export interface MountedFileSystem {
  readonly mountpoint: string;
  /** Resolves when the folder was unmounted from outside; the caller then closes the store. */
  readonly unmountedElsewhere: Promise<void>;
  /** Commits open files, unmounts (lazily: open descriptors keep working until closed) and commits again. */
  unmount(): Promise<void>;
}

export async function mountFileSystem(fs: FileSystem, o: MountOptions, log: Logger): Promise<MountedFileSystem> {
  await prepareMountpoint(o.mountpoint, log);
  const mountpoint = await canonicalMountpoint(o.mountpoint);
  const stagingDir = join(o.stateDir, 'open-files');
  // Always replayed, also by a mount that commits at close: the last one may not have.
  const { journal, result } = await replaySpool(fs, stagingDir, join(o.stateDir, 'unsaved'), log);
  if (result.committed.length > 0) log.info({ files: result.committed }, 'committed files that the last mount had closed and not committed');
  const hidden = new HiddenFiles(join(o.stateDir, 'hidden-files.json'));
  const swept = await hidden.sweep(fs, log);
  if (swept.length > 0) log.info({ files: swept }, 'removed files that a crashed mount left unlinked while open');
  const ops = new FuseFs(fs, {
    hidden,
    stagingDir,
    attrCacheMs: o.attrCacheMs,
    streamBuffer: o.streamBuffer,
    defaults: { uid: o.uid, gid: o.gid },
    locker: o.locker,
    log,
    ...(o.commitAfterCloseMs === undefined
      ? {}
      : {
          spool: {
            ...SPOOL_BACKLOG,
            delayMs: o.commitAfterCloseMs,
            journal,
            ...(o.commitAtCloseUpTo === undefined ? {} : { commitAtCloseUpTo: o.commitAtCloseUpTo }),
          },
        }),
  });
  const session = await mountFuse(mountpoint, ops, o, (op, path, err, errno) => {
    if (isExpectedErrno(errno)) log.debug({ op, path, errno }, 'fuse operation refused');
    else log.warn({ op, path, errno, err: (err as Error)?.message ?? String(err) }, 'fuse operation failed');
  });
  log.info({ mountpoint, attrTimeout: o.attrTimeout, entryTimeout: o.entryTimeout, maxRead: o.maxRead }, 'mounted');

  let unmounting = false;
  let timer: NodeJS.Timeout | undefined;
  let detached = false;
  const unmountedElsewhere = new Promise<void>((resolve) => {
    timer = setInterval(() => {
      if (unmounting) return;
      void isMounted(mountpoint).then((mounted) => {
        if (mounted || unmounting) return;
        // After a lazy unmount (umount -l, fusermount -uz) open descriptors keep working until they
        // are closed: serve them, and stop once the last one is released.
        // Closed files waiting for their commit need no serving: the unmount that follows commits them.
        const open = ops.fileHandleCount();
        if (!detached) log.info({ mountpoint, openFiles: open }, 'unmounted from outside');
        detached = true;
        if (open === 0) resolve();
      });
    }, o.watchMs ?? 1000);
    timer.unref();
  });

  const commitAll = async (when: string) => {
    for (const { path, err } of await ops.syncAll()) {
      log.error({ path, err: (err as Error)?.message ?? String(err), when }, 'could not commit an open file');
    }
  };
  return {
    mountpoint,
    unmountedElsewhere,
    unmount: async () => {
      unmounting = true;
      clearInterval(timer);
      await commitAll('before unmount');
      if (await isMounted(mountpoint)) {
        await session.unmount().catch((err: unknown) => log.warn({ mountpoint, err: (err as Error).message }, 'unmount failed'));
      }
      await commitAll('after unmount');
      await journal.close();
    },
  };
}
