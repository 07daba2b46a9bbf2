// The one seam to fuse-native (DESIGN.md "FUSE front"): loads it lazily (so `serve` runs where
// libfuse2 is missing), passes the mount options it would drop, and turns its callback calls
// into promise-returning handlers whose errors become negative errnos through errno.ts.
import type { NativeOps, NativeStat, NativeStatfs } from 'fuse-native';
import { FsError } from '../core/errors.js';
import { errnoOf } from './errno.js';

export type FuseAttr = NativeStat;
export type FuseStatfs = NativeStatfs;

/** What the FUSE front implements; every method may throw an FsError (mapped by errno.ts). */
export interface FuseHandlers {
  getattr(path: string): Promise<FuseAttr>;
  readdir(path: string): Promise<{ names: string[]; attrs: FuseAttr[] }>;
  open(path: string, flags: number): Promise<number>;
  create(path: string, mode: number): Promise<number>;
  read(path: string, fh: number, buf: Buffer, len: number, pos: number): Promise<number>;
  write(path: string, fh: number, buf: Buffer, len: number, pos: number): Promise<number>;
  flush(path: string, fh: number): Promise<void>;
  fsync(path: string, fh: number): Promise<void>;
  fsyncdir(path: string): Promise<void>;
  release(path: string, fh: number): Promise<void>;
  truncate(path: string, size: number): Promise<void>;
  ftruncate(path: string, fh: number, size: number): Promise<void>;
  unlink(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  mkdir(path: string, mode: number): Promise<void>;
  rmdir(path: string): Promise<void>;
  /** fuse-native 2.2.6 hands the access time twice (see utimens in fuse-fs.ts). */
  utimens(path: string, atimeMs: number): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  chown(path: string, uid: number, gid: number): Promise<void>;
  statfs(path: string): Promise<FuseStatfs>;
}

export interface KernelOptions {
  /** Seconds the kernel caches attributes (attr_timeout) and names (entry_timeout). */
  attrTimeout: number;
  entryTimeout: number;
  /** Largest read request in bytes (max_read; the kernel caps it at 128 KiB without max_pages). */
  maxRead: number;
  allowOther: boolean;
  /** Shown by mount(8) and df as the source and type (fuse.<subtype>). */
  fsname: string;
  debug: boolean;
}

export interface FuseSession {
  /** Lazy unmount (fusermount -uz), then release the native session. */
  unmount(): Promise<void>;
}

/** Called for every failed operation (logging); expected errors (ENOENT) are the caller's to filter. */
export type FailureHook = (op: string, path: string, err: unknown, errno: number) => void;

/**
 * The libfuse -o options. fuse-native's own _fuseOptions() knows a fixed list without big_writes
 * (without it the kernel sends 4 KiB writes: ~80 MB/s), so the subclass below replaces it.
 */
export function kernelOptionString(o: KernelOptions): string {
  const opts = [
    'big_writes',
    `max_read=${o.maxRead}`,
    `attr_timeout=${o.attrTimeout}`,
    `entry_timeout=${o.entryTimeout}`,
    // A name that did not exist is asked again next time: a file PUT over WebDAV must appear.
    'negative_timeout=0',
    // The kernel enforces the mode, uid and gid we store (chmod means something).
    'default_permissions',
    // libfuse keeps the kernel's page cache of a file across opens while its size and mtime are
    // unchanged (checked by a getattr at each open): repeated reads never reach this process, and
    // a file changed elsewhere (its mtime moves) is read afresh.
    'auto_cache',
    `fsname=${o.fsname.replace(/[,\s]/g, '_')}`,
    'subtype=davfs-bridge',
  ];
  if (o.allowOther) opts.push('allow_other');
  if (o.debug) opts.push('debug');
  return '-o' + opts.join(',');
}

/** Mounts `handlers` at `mountpoint`; resolves once the kernel's INIT arrived (the mount is live). */
export async function mountFuse(mountpoint: string, handlers: FuseHandlers, kernel: KernelOptions, onFailure: FailureHook): Promise<FuseSession> {
  const Fuse = (await import('fuse-native')).default;
  const optionString = kernelOptionString(kernel);
  class DavfsFuse extends Fuse {
    protected override _fuseOptions(): string {
      return optionString;
    }
  }
  // timeout false: fuse-native would otherwise answer ETIMEDOUT after 15 s, and a flush that
  // uploads a large file legitimately takes longer.
  const fuse = new DavfsFuse(mountpoint, nativeOps(handlers, onFailure), { timeout: false });
  await new Promise<void>((resolve, reject) =>
    fuse.mount((err) =>
      err
        ? // fuse-native says only "fuse failed"; libfuse printed the reason on stderr.
          reject(new FsError('EIO', `could not mount ${mountpoint}: ${err.message} (libfuse's reason is on the line above; is /dev/fuse there?)`))
        : resolve(),
    ),
  );
  return {
    unmount: () => new Promise<void>((resolve, reject) => fuse.unmount((err) => (err ? reject(err) : resolve()))),
  };
}

/** Adapts promise handlers to fuse-native's callbacks (`cb(0, value)`, `cb(n)`, `cb(-errno)`). */
function nativeOps(h: FuseHandlers, onFailure: FailureHook): NativeOps {
  const fail = (op: string, path: string, cb: (r: number) => void) => (err: unknown) => {
    const errno = errnoOf(err);
    onFailure(op, path, err, errno);
    cb(-errno);
  };
  const done = (op: string, path: string, p: Promise<void>, cb: (r: number) => void) => p.then(() => cb(0), fail(op, path, cb));
  const count = (op: string, path: string, p: Promise<number>, cb: (r: number) => void) => p.then(cb, fail(op, path, cb));
  const value = <T>(op: string, path: string, p: Promise<T>, cb: (r: number, v?: T) => void) => p.then((v) => cb(0, v), fail(op, path, cb));
  return {
    getattr: (path, cb) => value('getattr', path, h.getattr(path), cb),
    readdir: (path, cb) =>
      h.readdir(path).then(
        (r) => cb(0, r.names, r.attrs),
        fail('readdir', path, (e) => cb(e)),
      ),
    open: (path, flags, cb) => value('open', path, h.open(path, flags), cb),
    create: (path, mode, cb) => value('create', path, h.create(path, mode), cb),
    read: (path, fd, buf, len, pos, cb) => count('read', path, h.read(path, fd, buf, len, pos), cb),
    write: (path, fd, buf, len, pos, cb) => count('write', path, h.write(path, fd, buf, len, pos), cb),
    flush: (path, fd, cb) => done('flush', path, h.flush(path, fd), cb),
    fsync: (path, _datasync, fd, cb) => done('fsync', path, h.fsync(path, fd), cb),
    fsyncdir: (path, _datasync, _fd, cb) => done('fsyncdir', path, h.fsyncdir(path), cb),
    release: (path, fd, cb) => done('release', path, h.release(path, fd), cb),
    truncate: (path, size, cb) => done('truncate', path, h.truncate(path, size), cb),
    ftruncate: (path, fd, size, cb) => done('ftruncate', path, h.ftruncate(path, fd, size), cb),
    unlink: (path, cb) => done('unlink', path, h.unlink(path), cb),
    rename: (src, dest, cb) => done('rename', src, h.rename(src, dest), cb),
    mkdir: (path, mode, cb) => done('mkdir', path, h.mkdir(path, mode), cb),
    rmdir: (path, cb) => done('rmdir', path, h.rmdir(path), cb),
    utimens: (path, atime, _mtime, cb) => done('utimens', path, h.utimens(path, atime), cb),
    chmod: (path, mode, cb) => done('chmod', path, h.chmod(path, mode), cb),
    chown: (path, uid, gid, cb) => done('chown', path, h.chown(path, uid, gid), cb),
    statfs: (path, cb) => value('statfs', path, h.statfs(path), cb),
  };
}
