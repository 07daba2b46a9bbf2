// At mount: commits what an earlier mount closed and had not committed when it stopped (killed,
// crashed, or its store was down at unmount), from the journal and spool files it left
// (commit-journal.ts), then removes every other file in the spool folder (writes of files still
// open at the crash: never acknowledged by a close or an fsync).
//
// A file changed elsewhere since it was closed here (its version is not the one the spool was
// written over) is not overwritten: the spool file is moved to <state>/unsaved/ and logged, for
// the user to look at. Nothing a close returned for is dropped silently.
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FsError, type FsErrorCode } from '../core/errors.js';
import { baseName } from '../core/paths.js';
import type { Logger } from '../core/log.js';
import type { FileSystem } from '../vfs/file-system.js';
import { CommitJournal, JOURNAL_NAME, type SpoolRecord } from './commit-journal.js';
import { OpenFile } from './open-file.js';
import { StagedWrites, spoolFilePath } from './staged-writes.js';

/** Failures that a later attempt would meet again. */
const LASTING = new Set<FsErrorCode>(['ENOENT', 'ENOTDIR', 'EISDIR', 'EEXIST', 'EACCES', 'ENOSPC', 'EINVAL']);

export interface ReplayResult {
  committed: string[];
  /** Paths whose spool went to the unsaved folder instead. */
  unsaved: string[];
}

/** Replays the journal in `spoolDir` into `fs`; returns the journal, open for this mount's closes. */
export async function replaySpool(
  fs: FileSystem,
  spoolDir: string,
  unsavedDir: string,
  log: Logger,
): Promise<{ journal: CommitJournal; result: ReplayResult }> {
  await mkdir(spoolDir, { recursive: true });
  const journal = await CommitJournal.open(spoolDir);
  const result: ReplayResult = { committed: [], unsaved: [] };
  for (const rec of journal.pending()) {
    const spoolPath = spoolFilePath(spoolDir, rec.id);
    const hasSpool = await exists(spoolPath);
    const current = await fs.tryStat(rec.path);
    const same = (current?.etag ?? null) === rec.base && (current === undefined || current.kind === 'file');
    if (!same || (!hasSpool && rec.extents.length > 0)) {
      if (hasSpool) await keepUnsaved(spoolPath, unsavedDir, rec);
      log.error(
        { path: rec.path, unsaved: hasSpool ? unsavedDir : null, extents: rec.extents },
        'a file closed before the last mount stopped was changed elsewhere since (or its spool is gone); not committed',
      );
      result.unsaved.push(rec.path);
      await journal.done(rec.id);
      continue;
    }
    const staged = hasSpool ? await StagedWrites.reopen(spoolPath, rec.extents) : undefined;
    const file = OpenFile.restore(rec, current, staged, {
      fs,
      stagingDir: spoolDir,
      streamBuffer: 0,
      spool: true,
      committed: () => undefined,
      now: Date.now,
    });
    try {
      await file.sync(() => journal.done(rec.id));
      result.committed.push(rec.path);
    } catch (err) {
      // The store failing (EIO and the like) leaves the record: this mount refuses to start, the
      // next one tries again. The file's place gone (its folder removed elsewhere), or no room
      // for it: that would refuse every next mount too, so the spool goes aside instead.
      if (!(err instanceof FsError) || !LASTING.has(err.code)) throw err;
      if (staged) await keepUnsaved(spoolPath, unsavedDir, rec);
      log.error({ path: rec.path, unsaved: staged ? unsavedDir : null, err: err.message }, 'a file closed before the last mount stopped could not be committed');
      result.unsaved.push(rec.path);
      await journal.done(rec.id);
    } finally {
      await file.dispose();
    }
  }
  // Spool files without a record: writes to files open at the crash, never acknowledged.
  for (const name of await readdir(spoolDir)) {
    if (name !== JOURNAL_NAME) await rm(join(spoolDir, name), { recursive: true, force: true });
  }
  return { journal, result };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Moves a spool file aside as `<unsaved>/<time>-<name>` (its bytes sit at their own offsets). */
async function keepUnsaved(spoolPath: string, unsavedDir: string, rec: SpoolRecord): Promise<void> {
  await mkdir(unsavedDir, { recursive: true });
  await rename(spoolPath, join(unsavedDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${baseName(rec.path)}`));
}
