// Types for the part of fuse-native 2.2.6 (a CommonJS module without types) that fuse-binding.ts
// uses. Callbacks follow the package's convention: `cb(0, value)` or `cb(-errno)`; read and write
// answer with the byte count itself (`cb(n)`).
declare module 'fuse-native' {
  type Done = (result: number) => void;
  type With<T> = (result: number, value?: T) => void;

  export interface NativeStat {
    mode: number;
    uid: number;
    gid: number;
    size: number;
    nlink: number;
    blocks: number;
    blksize: number;
    /** Milliseconds since the epoch (fuse-native converts with millisecond precision). */
    mtime: number;
    atime: number;
    ctime: number;
  }

  export interface NativeStatfs {
    bsize: number;
    frsize: number;
    blocks: number;
    bfree: number;
    bavail: number;
    files: number;
    ffree: number;
    favail: number;
    fsid: number;
    flag: number;
    namemax: number;
  }

  export interface NativeOps {
    init?(cb: Done): void;
    getattr?(path: string, cb: With<NativeStat>): void;
    readdir?(path: string, cb: (result: number, names?: string[], stats?: NativeStat[]) => void): void;
    open?(path: string, flags: number, cb: With<number>): void;
    create?(path: string, mode: number, cb: With<number>): void;
    read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: Done): void;
    write?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: Done): void;
    flush?(path: string, fd: number, cb: Done): void;
    fsync?(path: string, datasync: number, fd: number, cb: Done): void;
    fsyncdir?(path: string, datasync: number, fd: number, cb: Done): void;
    release?(path: string, fd: number, cb: Done): void;
    truncate?(path: string, size: number, cb: Done): void;
    ftruncate?(path: string, fd: number, size: number, cb: Done): void;
    unlink?(path: string, cb: Done): void;
    rename?(src: string, dest: string, cb: Done): void;
    mkdir?(path: string, mode: number, cb: Done): void;
    rmdir?(path: string, cb: Done): void;
    utimens?(path: string, atime: number, mtime: number, cb: Done): void;
    chmod?(path: string, mode: number, cb: Done): void;
    chown?(path: string, uid: number, gid: number, cb: Done): void;
    statfs?(path: string, cb: With<NativeStatfs>): void;
  }

  export interface FuseOptions {
    /** Milliseconds after which fuse-native answers ETIMEDOUT itself; false: never. */
    timeout?: number | false;
    force?: boolean;
    mkdir?: boolean;
  }

  export default class Fuse {
    constructor(mnt: string, ops: NativeOps, opts?: FuseOptions);
    readonly mnt: string;
    /** Builds the `-o` argument passed to libfuse; subclasses may override it. */
    protected _fuseOptions(): string;
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
  }
}
