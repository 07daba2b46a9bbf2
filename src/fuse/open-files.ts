// The table of open files (one OpenFile per path, shared by its handles) and of handles (FUSE's
// `fh`, a uint32 where 0 means "none" to fuse-native). Paths follow renames made through the
// mount; libfuse passes the current path with every request, so a lookup by path always works.
//
// Unlink of an open file: libfuse 2 (without hard_remove) renames it to .fuse_hidden<N> in the
// same folder and unlinks that name at the last release, so the handle keeps reading its data
// through the hidden name. (With hard_remove, libfuse refuses reads of the unlinked node itself,
// since fuse-native does not set nullpath_ok.)
import { FsError } from '../core/errors.js';
import { Mutex } from '../core/mutex.js';
import { isSameOrInside, parentOf } from '../core/paths.js';
import type { FileSystem } from '../vfs/file-system.js';
import { OpenFile } from './open-file.js';
import { ReadAhead } from './read-ahead.js';

/** libfuse's name for an unlinked open file: `.fuse_hidden` and two 8-digit hex numbers. */
const HIDDEN_NAME = /\/\.fuse_hidden[0-9a-f]{16}$/;

/**
 * True for a file that was unlinked while open: its writes need no commit (libfuse deletes it at
 * the last release), which spares uploading a temporary file's data only to delete it.
 */
export function isUnlinkedOpenFile(path: string): boolean {
  return HIDDEN_NAME.test(path);
}

export class FileHandle {
  /** Set by the first write or ftruncate: only a writer's flush may end a streaming write. */
  wrote = false;
  readonly reader: ReadAhead;
  /** Reads of one handle run in order (their read-ahead stream is shared). */
  readonly readLock = new Mutex();

  constructor(
    readonly fh: number,
    readonly file: OpenFile,
    fs: FileSystem,
  ) {
    this.reader = new ReadAhead(fs);
  }
}

export class OpenFiles {
  private readonly byPath = new Map<string, OpenFile>();
  private readonly handles = new Map<number, FileHandle>();
  private nextFh = 1;

  constructor(private readonly fs: FileSystem) {}

  get(path: string): OpenFile | undefined {
    return this.byPath.get(path);
  }

  /** Opens a handle on the file at `path`, making its OpenFile with `make` if none is open. */
  open(path: string, make: () => OpenFile): FileHandle {
    let file = this.byPath.get(path);
    if (!file) {
      file = make();
      this.byPath.set(path, file);
    }
    file.handles++;
    const h = new FileHandle(this.allocFh(), file, this.fs);
    this.handles.set(h.fh, h);
    return h;
  }

  handle(fh: number): FileHandle {
    const h = this.handles.get(fh);
    if (!h) throw new FsError('EIO', `no open handle ${fh}`);
    return h;
  }

  /**
   * Forgets a handle; returns its file when that was the file's last handle. The file stays in the
   * table (opens find it) until the caller has committed what it holds and calls forget().
   */
  close(h: FileHandle): OpenFile | undefined {
    if (!this.handles.delete(h.fh)) return undefined;
    void h.reader.drop();
    if (--h.file.handles > 0) return undefined;
    return h.file;
  }

  /** Drops a file without handles from the table; false if it was not there (already dropped). */
  forget(file: OpenFile): boolean {
    if (file.handles > 0 || this.byPath.get(file.path) !== file) return false;
    this.byPath.delete(file.path);
    return true;
  }

  /** Files at `path` or below it. */
  under(path: string): OpenFile[] {
    return [...this.byPath.values()].filter((f) => isSameOrInside(f.path, path));
  }

  /** Creates not committed yet whose folder is `dir` (a listing must show them). */
  pendingIn(dir: string): OpenFile[] {
    return [...this.byPath.values()].filter((f) => !f.isCommitted() && parentOf(f.path) === dir);
  }

  all(): OpenFile[] {
    return [...this.byPath.values()];
  }

  /** Re-keys the files at `from` and below to their paths under `to` (a rename succeeded). */
  moved(from: string, to: string): void {
    const files = this.under(from);
    for (const f of files) this.byPath.delete(f.path);
    for (const f of files) {
      f.moved(to + f.path.slice(from.length));
      this.byPath.set(f.path, f);
    }
  }

  private allocFh(): number {
    for (;;) {
      const fh = this.nextFh;
      this.nextFh = fh >= 0x7fffffff ? 1 : fh + 1;
      if (!this.handles.has(fh)) return fh;
    }
  }
}
