// Files unlinked while open, remembered across a crash. libfuse 2 renames such a file to
// .fuse_hidden<N> and removes that name at its last release (open-files.ts); a mount killed in
// between leaves the hidden name in the store, where every client, WebDAV ones included, would
// list it for ever. The names live in a small journal file next to the staging folder, and the
// next mount removes what the journal lists before it goes live.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isFsError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { FileSystem } from '../vfs/file-system.js';
import { isUnlinkedOpenFile } from './open-files.js';

export class HiddenFiles {
  private readonly names = new Set<string>();
  /** Journal writes run one after another, each with the set as it is then. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly journal: string) {}

  /**
   * Removes the hidden files a previous mount left behind, then empties the journal. Only names of
   * libfuse's form are removed, whatever the file says: a damaged or edited journal cannot delete
   * anything else. Returns the paths removed.
   */
  async sweep(fs: FileSystem, log: Logger): Promise<string[]> {
    let listed: unknown;
    try {
      listed = JSON.parse(await readFile(this.journal, 'utf8'));
    } catch (err) {
      // No journal (the last mount ended cleanly) is the usual case; an unreadable one is logged.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ journal: this.journal, err: (err as Error).message }, 'hidden-file journal unreadable; ignored');
      listed = [];
    }
    const removed: string[] = [];
    for (const path of Array.isArray(listed) ? listed : []) {
      if (typeof path !== 'string' || !isUnlinkedOpenFile(path)) continue;
      try {
        await fs.remove(path);
        removed.push(path);
      } catch (err) {
        if (!isFsError(err, 'ENOENT')) log.warn({ path, err: (err as Error).message }, 'could not remove a file a crashed mount left');
      }
    }
    await rm(this.journal, { force: true });
    return removed;
  }

  /** A file open elsewhere was unlinked: libfuse renamed it to `path`. */
  added(path: string): Promise<void> {
    this.names.add(path);
    return this.save();
  }

  /** libfuse removed `path` at the last release (or someone removed it by that name). */
  removed(path: string): Promise<void> {
    return this.names.delete(path) ? this.save() : Promise.resolve();
  }

  private save(): Promise<void> {
    const next = this.writing.then(async () => {
      if (this.names.size === 0) return rm(this.journal, { force: true });
      // Write and rename, so a crash mid-write leaves the old journal or the new one, never half.
      const tmp = `${this.journal}.tmp`;
      await writeFile(tmp, JSON.stringify([...this.names]));
      await rename(tmp, this.journal);
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}
