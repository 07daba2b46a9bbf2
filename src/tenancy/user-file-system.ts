// One user's FileSystem over the whole tree's: every path goes through the user's Namespace on the
// way in and every Stat on the way out, writes are refused (EACCES) on read-only mounts, and
// writes under the home carry the user's quota, which the metadata store enforces in the commit's
// own transaction (ENOSPC → 507 before anything is visible).
import { FsError } from '../core/errors.js';
import { joinPath } from '../core/paths.js';
import type { FileSystem, SetAttributes, Usage } from '../vfs/file-system.js';
import type { ByteRange, ByteSource, DeadProp, PropPatch, Stat, WriteOptions, WriteResult } from '../vfs/types.js';
import { Namespace, type Mount } from './namespace.js';

/** The tree-wide file system the views sit on (the core's Vfs). */
export interface TreeFileSystem extends FileSystem {
  /** Logical bytes under a tree path (a folder's running total: one row read). */
  treeBytes(path: string): Promise<number>;
  truncate(path: string, size: number, opts?: { quota?: WriteOptions['quota'] }): Promise<Stat>;
  move(from: string, to: string, opts?: { overwrite?: boolean; quota?: WriteOptions['quota'] }): Promise<{ stat: Stat; replaced: boolean }>;
  copy(from: string, to: string, opts?: { overwrite?: boolean; recursive?: boolean; quota?: WriteOptions['quota'] }): Promise<{ stat: Stat; replaced: boolean }>;
}

export class UserFileSystem implements FileSystem {
  constructor(
    private readonly tree: TreeFileSystem,
    readonly ns: Namespace,
  ) {}

  async stat(path: string): Promise<Stat> {
    const r = this.ns.resolve(path);
    return this.shown(r.mount, r.visible, await this.tree.stat(r.real));
  }

  async tryStat(path: string): Promise<Stat | undefined> {
    const r = this.ns.resolve(path);
    const st = await this.tree.tryStat(r.real);
    return st && this.shown(r.mount, r.visible, st);
  }

  async *list(path: string): AsyncGenerator<Stat> {
    const r = this.ns.resolve(path);
    const entries = this.tree.list(r.real);
    if (r.visible !== '/') {
      for await (const st of entries) yield this.shown(r.mount, joinPath(r.visible, st.name), st);
      return;
    }
    // The root: the home's entries merged, in name order, with the shares mounted over it.
    const shares = await this.shareRoots();
    for await (const st of entries) {
      if (this.ns.isShadowed(st.name)) continue;
      while (shares.length > 0 && shares[0]!.name < st.name) yield shares.shift()!;
      yield this.shown(r.mount, joinPath('/', st.name), st);
    }
    yield* shares;
  }

  async read(path: string, range?: ByteRange): Promise<{ stat: Stat; body: AsyncGenerator<Buffer> }> {
    const r = this.ns.resolve(path);
    const { stat, body } = await this.tree.read(r.real, range);
    return { stat: this.shown(r.mount, r.visible, stat), body };
  }

  async write(path: string, source: ByteSource, opts: WriteOptions = {}): Promise<WriteResult> {
    const r = this.ns.resolveMember(path);
    const res = await this.tree.write(r.real, source, { ...opts, quota: r.mount.quota });
    return { ...res, stat: this.shown(r.mount, r.visible, res.stat) };
  }

  async writeRange(path: string, offset: number, length: number, source: ByteSource, opts: WriteOptions = {}): Promise<WriteResult> {
    const r = this.ns.resolveMember(path);
    const res = await this.tree.writeRange(r.real, offset, length, source, { ...opts, quota: r.mount.quota });
    return { ...res, stat: this.shown(r.mount, r.visible, res.stat) };
  }

  async truncate(path: string, size: number): Promise<Stat> {
    const r = this.ns.resolveMember(path);
    return this.shown(r.mount, r.visible, await this.tree.truncate(r.real, size, { quota: r.mount.quota }));
  }

  async mkdir(path: string, opts: { parents?: boolean } = {}): Promise<Stat> {
    const r = this.ns.resolveWritable(path);
    if (r.visible === r.mount.visible) {
      // The mount point exists by definition; `mkdir -p` of it is a no-op, MKCOL of it a conflict.
      if (opts.parents) return this.stat(path);
      throw new FsError('EEXIST', `${r.visible} exists`);
    }
    return this.shown(r.mount, r.visible, await this.tree.mkdir(r.real, opts));
  }

  async remove(path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    await this.tree.remove(this.ns.resolveMember(path).real, opts);
  }

  async move(from: string, to: string, opts: { overwrite?: boolean } = {}): Promise<{ stat: Stat; replaced: boolean }> {
    const src = this.ns.resolveMember(from);
    const dst = this.ns.resolveMember(to);
    // Bytes leaving a quota'd home lower its use; bytes entering one are checked in the commit.
    const res = await this.tree.move(src.real, dst.real, { ...opts, quota: dst.mount.quota });
    return { ...res, stat: this.shown(dst.mount, dst.visible, res.stat) };
  }

  async copy(from: string, to: string, opts: { overwrite?: boolean; recursive?: boolean } = {}): Promise<{ stat: Stat; replaced: boolean }> {
    const src = this.ns.resolve(from);
    const dst = this.ns.resolveMember(to);
    const res = await this.tree.copy(src.real, dst.real, { ...opts, quota: dst.mount.quota });
    return { ...res, stat: this.shown(dst.mount, dst.visible, res.stat) };
  }

  async setAttributes(path: string, attrs: SetAttributes): Promise<Stat> {
    const r = this.ns.resolveWritable(path);
    return this.shown(r.mount, r.visible, await this.tree.setAttributes(r.real, attrs));
  }

  getProps(path: string): Promise<DeadProp[]> {
    return this.tree.getProps(this.ns.resolve(path).real);
  }

  /** Stat ids are the tree's node ids: the view changes paths, never ids. */
  propsOf(stats: Stat[]): Promise<Map<number, DeadProp[]>> {
    return this.tree.propsOf(stats);
  }

  async patchProps(path: string, ops: PropPatch[]): Promise<void> {
    await this.tree.patchProps(this.ns.resolveWritable(path).real, ops);
  }

  /** RFC 4331 for the mount `path` is in: the home's figures against the user's quota; a share's own total. */
  async usage(path: string): Promise<Usage> {
    const { mount } = this.ns.resolve(path);
    const usedBytes = await this.tree.treeBytes(mount.real);
    return { usedBytes, availableBytes: mount.quota ? Math.max(0, mount.quota.maxBytes - usedBytes) : null };
  }

  sync(): Promise<void> {
    return this.tree.sync();
  }

  /** The Stat as the user sees it: visible path, and a mount point named as it appears. */
  private shown(mount: Mount, visible: string, st: Stat): Stat {
    const name = visible === '/' ? '' : visible.slice(visible.lastIndexOf('/') + 1);
    return { ...st, path: this.ns.toVisible(mount, st.path) ?? visible, name };
  }

  /** The shares' root folders as entries of `/`, in name order; a share whose folder is gone is left out. */
  private async shareRoots(): Promise<Stat[]> {
    const roots: Stat[] = [];
    for (const m of this.ns.shares) {
      const st = await this.tree.tryStat(m.real).catch(() => undefined);
      if (st?.kind === 'dir') roots.push(this.shown(m, m.visible, st));
    }
    return roots;
  }
}
