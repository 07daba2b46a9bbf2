// The FUSE operations over a FileSystem (the local Vfs, or a remote server): POSIX meanings on top
// of the core's path API. File content goes through OpenFile (open-file.ts); everything else is one
// FileSystem call, with the checks POSIX asks for and WebDAV does not (rename over a folder).
import { FsError } from '../core/errors.js';
import { normalizePath } from '../core/paths.js';
import type { FileSystem } from '../vfs/file-system.js';
import type { Stat } from '../vfs/types.js';
import { ClosedFileCommits, type SpoolOptions } from './closed-file-commits.js';
import { AttrCache, DEFAULT_DIR_MODE, DEFAULT_FILE_MODE, toFuseAttr, type AttrDefaults } from './attrs.js';
import type { FuseAttr, FuseHandlers, FuseStatfs } from './fuse-binding.js';
import type { HiddenFiles } from './hidden-files.js';
import { OpenFile } from './open-file.js';
import { OpenFiles, isUnlinkedOpenFile } from './open-files.js';
import { WriteLocks, opensForWrite, type FileLocker, type LockLog } from './write-locks.js';

export interface FuseFsOptions {
  /** Folder for the local files of staged writes (the caller replays or empties what an earlier mount left: replay-spool.ts). */
  stagingDir: string;
  /** How long the user-space attribute cache keeps a Stat (0: off). */
  attrCacheMs: number;
  /** Bytes a streaming write holds before write requests wait for the store. */
  streamBuffer: number;
  defaults: AttrDefaults;
  /** Locks to hold while a file is open for writing (a remote server); none for the local core. */
  locker?: FileLocker;
  log?: LockLog;
  /** Journal of files unlinked while open, so a crashed mount's leftovers are removed at the next. */
  hidden?: HiddenFiles;
  /**
   * Commit after the close (write_mode writeback): writes are spooled in `stagingDir`, a close
   * returns once they are there and noted in `journal`, and the commit follows (closed-file-commits.ts).
   * Without it every close commits before it returns.
   */
  spool?: SpoolOptions;
}

/** statfs block size: the kernel's largest request; 2^32 blocks of it cover 512 TiB (the fields are 32-bit). */
const STATFS_BLOCK = 128 * 1024;
const MAX_U32 = 0xffffffff;
/** chown's "leave unchanged" (-1 as the uint32 fuse-native hands over). */
const UNCHANGED_ID = 0xffffffff;
/**
 * fuse-native 2.2.6 turns a timespec into milliseconds as sec*1000 + nsec/1e6 and passes the
 * access time in place of the modification time. libfuse sends UTIME_NOW and UTIME_OMIT as
 * tv_sec 0 with nsec (1<<30)-1 or -2, which arrives as 1073: read as "now" (touch without -d).
 */
const UTIME_SPECIAL_MS = Math.floor(((1 << 30) - 1) / 1e6);

export class FuseFs implements FuseHandlers {
  private readonly attrs: AttrCache;
  private readonly files: OpenFiles;
  private readonly writeLocks: WriteLocks<OpenFile>;
  /** Commits after close (write_mode writeback); undefined: every close commits first. */
  private readonly closed: ClosedFileCommits | undefined;

  constructor(
    private readonly fs: FileSystem,
    private readonly o: FuseFsOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.attrs = new AttrCache(o.attrCacheMs);
    this.files = new OpenFiles(fs);
    this.writeLocks = new WriteLocks(o.locker, o.log ?? { warn: () => undefined });
    this.closed =
      o.spool &&
      new ClosedFileCommits(o.spool, {
        commit: (f) => this.sync(f),
        settled: (f) => this.settled(f),
        ...(o.log === undefined ? {} : { log: o.log }),
      });
  }

  async getattr(path: string): Promise<FuseAttr> {
    const p = normalizePath(path);
    const f = this.files.get(p);
    if (f) {
      const v = f.view();
      return toFuseAttr(v.stat, this.o.defaults, { size: v.size, mtimeMs: v.mtimeMs });
    }
    return toFuseAttr(await this.stat(p), this.o.defaults);
  }

  /**
   * The whole folder in one answer, read page by page from FileSystem.list: fuse-native's readdir
   * takes one array (it calls libfuse's filler with offset 0, so libfuse buffers the listing and
   * serves getdents from it). A folder of N entries is held once per opendir; the attributes go
   * into the cache, so the lookups of `ls -l` that follow need no store query each.
   */
  async readdir(path: string): Promise<{ names: string[]; attrs: FuseAttr[] }> {
    const p = normalizePath(path);
    const self = toFuseAttr(await this.stat(p), this.o.defaults);
    const names = ['.', '..'];
    const attrs = [self, self];
    // Creates not committed yet are listed from the open-file table, not the store.
    const pending = new Map(this.files.pendingIn(p).map((f) => [f.view().stat.name, f]));
    for await (const st of this.fs.list(p)) {
      this.attrs.set(st);
      if (pending.has(st.name)) continue;
      names.push(st.name);
      attrs.push(this.attrOf(st));
    }
    for (const [name, f] of pending) {
      const v = f.view();
      names.push(name);
      attrs.push(toFuseAttr(v.stat, this.o.defaults, { size: v.size, mtimeMs: v.mtimeMs }));
    }
    return { names, attrs };
  }

  async open(path: string, flags?: number): Promise<number> {
    const p = normalizePath(path);
    // A create not committed yet exists only here (a second descriptor opening it).
    const pending = this.files.get(p);
    if (pending && !pending.isCommitted()) return this.files.open(p, () => pending).fh;
    // Close-to-open consistency: an open always sees the latest committed version.
    const st = await this.stat(p, true);
    if (st.kind === 'dir') throw new FsError('EISDIR', `${p} is a folder`);
    const h = this.files.open(p, () => this.newFile(p, st));
    h.file.refresh(st);
    if (opensForWrite(flags)) await this.lockOrClose(h.fh, h.file, p);
    return h.fh;
  }

  async create(path: string, mode: number): Promise<number> {
    const p = normalizePath(path);
    const perm = mode & 0o7777;
    const h = this.files.open(p, () => this.newFile(p, undefined, perm === DEFAULT_FILE_MODE ? undefined : perm));
    // Even with no write, the new file must be committed by the handle's flush.
    h.wrote = true;
    this.attrs.delete(p);
    await this.lockOrClose(h.fh, h.file, p);
    return h.fh;
  }

  read(_path: string, fh: number, buf: Buffer, len: number, pos: number): Promise<number> {
    const h = this.files.handle(fh);
    const f = h.file;
    return h.readLock.run(() => {
      if (f.isClean()) return h.reader.readInto(f.path, f.version, f.size, buf, 0, pos, len);
      // Spooled: no stream to end, so a read need not wait for a commit that is running (a file
      // read back just after its close would otherwise wait for the whole commit).
      if (this.closed) return f.gate.shared(() => f.read(h.reader, buf, len, pos));
      return f.lock.run(() => f.read(h.reader, buf, len, pos));
    });
  }

  async write(_path: string, fh: number, buf: Buffer, len: number, pos: number): Promise<number> {
    const h = this.files.handle(fh);
    h.wrote = true;
    await h.file.lock.run(() => h.file.write(pos, buf.subarray(0, len)));
    return len;
  }

  /**
   * Every close(2) of a descriptor: commit, so a closed file is visible everywhere and survives a
   * crash of this process. Durable against power loss at fsync(2), or within a second. Spooled:
   * note the file in the journal instead (it survives a crash of this process all the same) and
   * commit after the last release.
   */
  async flush(_path: string, fh: number): Promise<void> {
    const h = this.files.handle(fh);
    // A reader closing must not cut another descriptor's streaming write short.
    if (!h.wrote && h.file.isStreaming()) return;
    if (this.spooling(h.file)) {
      // A reader has nothing to note (and must not wait for a commit running): writers note
      // theirs, except small files held in memory, which commit now.
      if (!h.wrote) return;
      if (!this.closed!.commitsAtClose(h.file)) return this.closed!.noteClosed(h.file);
    }
    await this.sync(h.file);
  }

  /** fsync(2) and fdatasync(2): commit the file, then make the metadata commits durable. */
  async fsync(_path: string, fh: number): Promise<void> {
    await this.sync(this.files.handle(fh).file);
    await this.fs.sync();
  }

  /** fsync(2) of a folder: what makes a create, rename or unlink in it durable (POSIX). */
  async fsyncdir(_path: string): Promise<void> {
    await this.fs.sync();
  }

  async release(_path: string, fh: number): Promise<void> {
    const f = this.files.close(this.files.handle(fh));
    if (!f) return;
    if (this.spooling(f) && !f.isClean()) return this.closed!.released(f);
    try {
      await this.sync(f);
    } finally {
      await this.finish(f);
    }
  }

  /** True when `f` commits after its close (spooled, and not a file unlinked while open). */
  private spooling(f: OpenFile): boolean {
    return this.closed?.applies(f) === true;
  }

  /** Commits the closed files at or below `path` now (before an unlink or rename touches them). */
  private async settleUnder(path: string): Promise<void> {
    for (const f of this.files.under(path)) {
      if (f.handles > 0) continue;
      await this.sync(f);
      await this.settled(f);
    }
  }

  /** A closed file was committed: forget it unless it was opened or written again meanwhile. */
  private async settled(f: OpenFile): Promise<void> {
    await f.lock.run(async () => {
      if (f.handles === 0 && f.isClean()) await this.finish(f);
    });
  }

  /** The last handle is gone and nothing is left to commit: drop the file from the table. */
  private async finish(f: OpenFile): Promise<void> {
    if (!this.files.forget(f)) return;
    await this.closed?.journal.done(f.id);
    await f.dispose();
    await this.writeLocks.release(f);
  }

  /** Takes the write lock of a file being opened for writing; a refused lock refuses the open. */
  private async lockOrClose(fh: number, file: OpenFile, path: string): Promise<void> {
    try {
      await this.writeLocks.acquire(file, path);
    } catch (err) {
      const f = this.files.close(this.files.handle(fh));
      if (f) await this.finish(f);
      throw err;
    }
  }

  async truncate(path: string, size: number): Promise<void> {
    const p = normalizePath(path);
    const f = this.files.get(p);
    if (f) {
      // An open file takes the new size like a write: committed by its handles' next flush, or,
      // closed and waiting for its commit, by that commit.
      await f.lock.run(() => f.truncate(size));
      if (this.spooling(f)) {
        // Acknowledged now: noted like a close (no handle of a writer may close after it).
        await this.closed!.noteClosed(f);
        if (f.handles === 0) this.closed!.schedule(f);
      }
      return;
    }
    this.attrs.set(await this.fs.truncate(p, size));
  }

  async ftruncate(_path: string, fh: number, size: number): Promise<void> {
    const h = this.files.handle(fh);
    h.wrote = true;
    await h.file.lock.run(() => h.file.truncate(size));
  }

  async unlink(path: string): Promise<void> {
    const p = normalizePath(path);
    await this.settleUnder(p);
    const st = await this.stat(p, true);
    // The core removes an empty folder by the same call; unlink(2) must not.
    if (st.kind === 'dir') throw new FsError('EISDIR', `${p} is a folder`);
    this.attrs.delete(p);
    await this.fs.remove(p);
    if (isUnlinkedOpenFile(p)) await this.journalHidden('removed', p);
  }

  async mkdir(path: string, mode: number): Promise<void> {
    const p = normalizePath(path);
    let st = await this.fs.mkdir(p);
    const perm = mode & 0o7777;
    if (perm !== DEFAULT_DIR_MODE) st = await this.fs.setAttributes(p, { mode: perm });
    this.attrs.set(st);
  }

  async rmdir(path: string): Promise<void> {
    const p = normalizePath(path);
    const st = await this.stat(p, true);
    if (st.kind !== 'dir') throw new FsError('ENOTDIR', `${p} is a file`);
    // Files created inside and not committed yet are not in the store, but they are there.
    if (this.files.under(p).length > 0) throw new FsError('ENOTEMPTY', `${p} holds open files`);
    this.attrs.deleteTree(p);
    await this.fs.remove(p);
  }

  /** rename(2): atomic, replacing a file or an empty folder of the same kind at the target. */
  async rename(from: string, to: string): Promise<void> {
    const src = normalizePath(from);
    const dst = normalizePath(to);
    if (src === dst) return;
    // Closed files waiting for their commit, there or at the target, commit first: the journal
    // names them by path, and a late commit of the target would overwrite what is renamed onto it.
    await this.settleUnder(src);
    await this.settleUnder(dst);
    // A create or streaming write of the source commits first: its node must exist to move, and a
    // stream would otherwise commit under the old name when it ends.
    const open = this.files.get(src);
    if (open && (!open.isCommitted() || open.isStreaming())) await this.commit(open);
    const s = await this.stat(src, true);
    const d = await this.fs.tryStat(dst);
    if (d) {
      if (s.kind === 'dir' && d.kind !== 'dir') throw new FsError('ENOTDIR', `${dst} is a file`);
      if (s.kind !== 'dir' && d.kind === 'dir') throw new FsError('EISDIR', `${dst} is a folder`);
      if (d.kind === 'dir' && !(await this.isEmptyDir(dst))) throw new FsError('ENOTEMPTY', `${dst} is not empty`);
    }
    this.attrs.deleteTree(src);
    this.attrs.deleteTree(dst);
    await this.fs.move(src, dst, { overwrite: true });
    this.files.moved(src, dst);
    // Open files noted by an earlier close are noted again under their new path.
    for (const f of this.files.under(dst)) {
      if (this.closed?.journal.has(f.id)) await this.closed.note(f);
    }
    if (isUnlinkedOpenFile(dst)) await this.journalHidden('added', dst);
  }

  /** Notes a hidden file in the journal; a failure there is logged, never the operation's. */
  private async journalHidden(change: 'added' | 'removed', path: string): Promise<void> {
    await this.o.hidden?.[change](path).catch((err: unknown) => {
      this.o.log?.warn({ path, err: (err as Error).message }, 'could not update the hidden-file journal');
    });
  }

  async utimens(path: string, atimeMs: number): Promise<void> {
    const mtimeMs = atimeMs === UTIME_SPECIAL_MS ? this.now() : atimeMs;
    await this.setAttributes(normalizePath(path), { mtimeMs });
  }

  async chmod(path: string, mode: number): Promise<void> {
    await this.setAttributes(normalizePath(path), { mode: mode & 0o7777 });
  }

  async chown(path: string, uid: number, gid: number): Promise<void> {
    const attrs = { uid: uid === UNCHANGED_ID ? undefined : uid, gid: gid === UNCHANGED_ID ? undefined : gid };
    if (attrs.uid === undefined && attrs.gid === undefined) return;
    await this.setAttributes(normalizePath(path), attrs);
  }

  async statfs(path: string): Promise<FuseStatfs> {
    const u = await this.fs.usage(normalizePath(path));
    const used = Math.ceil(u.usedBytes / STATFS_BLOCK);
    const free = u.availableBytes === null ? MAX_U32 - Math.min(used, MAX_U32) : Math.min(Math.floor(u.availableBytes / STATFS_BLOCK), MAX_U32);
    return {
      bsize: STATFS_BLOCK,
      frsize: STATFS_BLOCK,
      blocks: Math.min(used + free, MAX_U32),
      bfree: free,
      bavail: free,
      files: MAX_U32,
      ffree: MAX_U32,
      favail: MAX_U32,
      fsid: 0,
      flag: 0,
      namemax: 255,
    };
  }

  /** Files with at least one handle open, or closed and waiting for their commit. */
  openFileCount(): number {
    return this.files.all().length;
  }

  /** Files with at least one handle open (a lazy unmount serves them until they are closed). */
  fileHandleCount(): number {
    return this.files.all().filter((f) => f.handles > 0).length;
  }

  /**
   * Commits every open file and every closed one waiting for its commit (shutdown: before
   * unmounting). Resolves with the failures (a closed file's is logged, and its spool replayed by
   * the next mount).
   */
  async syncAll(): Promise<{ path: string; err: unknown }[]> {
    const failed: { path: string; err: unknown }[] = [];
    for (const f of this.files.all()) {
      if (f.handles > 0) await this.sync(f).catch((err: unknown) => failed.push({ path: f.path, err }));
      // Closed and dirty: committed by the drain below (queued here if, unexpectedly, it was not).
      else if (this.closed && !this.closed.has(f) && !f.isClean()) this.closed.schedule(f, 0);
    }
    await this.closed?.drain();
    return failed;
  }

  /** Commits what `f` holds, unless it was unlinked while open (nothing can name it any more). */
  private async sync(f: OpenFile): Promise<void> {
    if (isUnlinkedOpenFile(f.path)) return;
    await this.commit(f);
  }

  /** Commits what `f` holds; a journal record of it is done once the commit is in. */
  private commit(f: OpenFile): Promise<void> {
    const journal = this.closed?.journal;
    return f.lock.run(() => f.sync(journal && (() => journal.done(f.id))));
  }

  /**
   * chmod, chown, utimens. Data written and not committed is committed first: the commit sets the
   * modification time, and `cp -p` sets the times after writing and before closing.
   */
  private async setAttributes(p: string, attrs: { mtimeMs?: number; mode?: number; uid?: number; gid?: number }): Promise<void> {
    const f = this.files.get(p);
    if (f && !f.isClean()) await this.commit(f);
    const st = await this.fs.setAttributes(p, attrs);
    this.attrs.set(st);
    f?.attributesChanged(st);
  }

  private async stat(p: string, fresh = false): Promise<Stat> {
    const cached = fresh ? undefined : this.attrs.get(p);
    if (cached) return cached;
    const st = await this.fs.stat(p);
    this.attrs.set(st);
    return st;
  }

  private attrOf(st: Stat): FuseAttr {
    const f = this.files.get(st.path);
    if (!f) return toFuseAttr(st, this.o.defaults);
    const v = f.view();
    return toFuseAttr(v.stat, this.o.defaults, { size: v.size, mtimeMs: v.mtimeMs });
  }

  private async isEmptyDir(p: string): Promise<boolean> {
    const it = this.fs.list(p);
    try {
      return (await it.next()).done === true;
    } finally {
      await it.return(undefined);
    }
  }

  private newFile(p: string, committed: Stat | undefined, createMode?: number): OpenFile {
    return new OpenFile(
      p,
      committed,
      {
        fs: this.fs,
        stagingDir: this.o.stagingDir,
        streamBuffer: this.o.streamBuffer,
        spool: this.closed !== undefined,
        ...(this.closed?.inMemoryUpTo === undefined ? {} : { spoolInMemoryUpTo: this.closed.inMemoryUpTo }),
        committed: (st) => this.attrs.set(st),
        now: this.now,
      },
      createMode,
    );
  }
}
