// The Vfs: the one API both fronts (WebDAV, FUSE) use. Paths in, Stats and byte streams out;
// every change is one metadata transaction over immutable chunks, so it is atomic and cheap.
import { FsError } from '../core/errors.js';
import { baseName, isSameOrInside, normalizePath, parentOf, splitPath, joinPath } from '../core/paths.js';
import type { ChunkStore } from '../chunks/chunk-store.js';
import type { ChunkingParams } from '../chunks/fastcdc.js';
import { ROOT_ID, type DeadProp, type MetaStore, type NewContent, type NodeRow, type PropPatch, type QuotaLimit as NodeLimit } from '../meta/meta-store.js';
import { readContentRange, type ContentReaderDeps } from './content-reader.js';
import { ContentFileReader } from './content-file-reader.js';
import { writeContent, type ContentWriterDeps } from './content-writer.js';
import { rewriteRange, truncateContent } from './partial-update.js';
import type { FileReader, FileSystem, SetAttributes, Usage } from './file-system.js';
import type { ByteRange, ByteSource, QuotaLimit, Stat, WriteOptions, WriteResult } from './types.js';

export interface VfsOptions {
  chunking: ChunkingParams;
  inlineMax: number;
  uploadConcurrency: number;
  readAhead: number;
  /** Page size of folder listings (keyset pages keep memory flat for huge folders). */
  listPageSize?: number;
}

/** The nodes on a path below the root, top down (Vfs.walk); none for the root itself. */
interface Walked {
  path: string;
  below: NodeRow[];
}

/** A QuotaLimit whose root was found: the path and its usage (for early checks), the node (for the commit). */
interface ResolvedQuota {
  root: string;
  usedBytes: number;
  limit: NodeLimit;
}

export class Vfs implements FileSystem {
  private readonly writer: ContentWriterDeps;
  private readonly reader: ContentReaderDeps;
  private readonly pageSize: number;

  constructor(
    readonly meta: MetaStore,
    readonly chunks: ChunkStore,
    opts: VfsOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.writer = { meta, chunks, chunking: opts.chunking, inlineMax: opts.inlineMax, uploadConcurrency: opts.uploadConcurrency };
    this.reader = { meta, chunks, readAhead: opts.readAhead };
    this.pageSize = opts.listPageSize ?? 1000;
  }

  async stat(path: string): Promise<Stat> {
    const p = normalizePath(path);
    return toStat(p, await this.resolve(p));
  }

  /** Stat, or undefined when nothing is at the path (a missing parent is still an error). */
  async tryStat(path: string): Promise<Stat | undefined> {
    try {
      return await this.stat(path);
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Entries of a folder in name order, fetched page by page. */
  async *list(path: string): AsyncGenerator<Stat> {
    const p = normalizePath(path);
    const dir = await this.resolve(p);
    if (dir.kind !== 'dir') throw new FsError('ENOTDIR', `${p} is not a folder`);
    let after: string | null = null;
    for (;;) {
      const page = await this.meta.listChildren(dir.id, after, this.pageSize);
      for (const n of page) yield toStat(joinPath(p, n.name), n);
      if (page.length < this.pageSize) return;
      after = page[page.length - 1]!.name;
    }
  }

  /** Bytes of a file; `range` is inclusive and must lie within the file. */
  async read(path: string, range?: ByteRange): Promise<{ stat: Stat; body: AsyncGenerator<Buffer> }> {
    const { p, node } = await this.resolveFile(path);
    const r = range ?? { start: 0, end: node.size - 1 };
    if (r.start < 0 || r.end >= node.size || (r.start > r.end && node.size > 0)) {
      throw new FsError('EINVAL', `range ${r.start}-${r.end} is outside ${node.size} bytes`);
    }
    // The content id is fixed now: a concurrent PUT does not change what this reader sees.
    return { stat: toStat(p, node), body: readContentRange(this.reader, node.contentId!, r) };
  }

  async openReader(path: string): Promise<FileReader> {
    const { p, node } = await this.resolveFile(path);
    return ContentFileReader.open(this.reader, node.contentId, toStat(p, node));
  }

  /** Replaces (or creates) a file with the bytes of `source`, atomically. */
  async write(path: string, source: ByteSource, opts: WriteOptions = {}): Promise<WriteResult> {
    const p = normalizePath(path);
    const { parent, existing, walked } = await this.resolveForCreate(p);
    if (existing?.kind === 'dir') throw new FsError('EISDIR', `${p} is a folder`);
    const expectContentId = this.expectedContent(existing, opts.ifEtag);
    const quota = await this.resolveQuota(opts.quota, walked);
    if (opts.expectedSize !== undefined) this.refuseEarly(quota, p, existing?.size ?? 0, opts.expectedSize);
    const content = await writeContent(this.writer, source, { expectedSize: opts.expectedSize });
    return this.commitAt(p, parent.id, content, opts, expectContentId, quota);
  }

  /**
   * Writes `length` bytes at `offset`, creating the file when missing and zero-filling any gap.
   * Only the chunks around the range are re-chunked and uploaded; the rest are kept by reference.
   */
  async writeRange(path: string, offset: number, length: number, source: ByteSource, opts: WriteOptions = {}): Promise<WriteResult> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new FsError('EINVAL', 'offset and length must be non-negative integers');
    }
    const p = normalizePath(path);
    const { parent, existing, walked } = await this.resolveForCreate(p);
    if (existing?.kind === 'dir') throw new FsError('EISDIR', `${p} is a folder`);
    const expectContentId = this.expectedContent(existing, opts.ifEtag) ?? existing?.contentId ?? null;
    const quota = await this.resolveQuota(opts.quota, walked);
    const oldSize = existing?.size ?? 0;
    this.refuseEarly(quota, p, oldSize, Math.max(oldSize, offset + length));
    const content = await rewriteRange(this.writer, this.reader, existing?.contentId ?? null, offset, length, source);
    return this.commitAt(p, parent.id, content, opts, expectContentId, quota);
  }

  /** Sets a file's length, dropping bytes past it or appending zeros. */
  async truncate(path: string, size: number, opts: { quota?: QuotaLimit } = {}): Promise<Stat> {
    if (!Number.isSafeInteger(size) || size < 0) throw new FsError('EINVAL', 'size must be a non-negative integer');
    const p = normalizePath(path);
    const walked = await this.walk(p);
    const node = await this.endOf(walked);
    if (node.kind !== 'file') throw new FsError('EISDIR', `${p} is a folder`);
    if (node.size === size) return toStat(p, node);
    const quota = await this.resolveQuota(opts.quota, walked);
    this.refuseEarly(quota, p, node.size, size);
    const content = await truncateContent(this.writer, this.reader, node.contentId!, node.size, size);
    return (await this.commitAt(p, node.parentId!, content, {}, node.contentId, quota)).stat;
  }

  async mkdir(path: string, opts: { parents?: boolean } = {}): Promise<Stat> {
    const p = normalizePath(path);
    if (p === '/') {
      if (opts.parents) return this.stat('/');
      throw new FsError('EEXIST', '/ exists');
    }
    if (opts.parents) {
      let cur = await this.meta.getNode(ROOT_ID);
      let curPath = '/';
      for (const name of splitPath(p)) {
        curPath = joinPath(curPath, name);
        const next: NodeRow | undefined = await this.meta.lookup(cur!.id, name);
        if (next && next.kind !== 'dir') throw new FsError('ENOTDIR', `${curPath} is a file`);
        cur = next ?? (await this.createDirTolerant(cur!.id, name));
      }
      return toStat(p, cur!);
    }
    const parent = await this.resolve(parentOf(p));
    if (parent.kind !== 'dir') throw new FsError('ENOTDIR', `${parentOf(p)} is not a folder`);
    return toStat(p, await this.meta.createDir(parent.id, baseName(p), this.now()));
  }

  async remove(path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    const p = normalizePath(path);
    if (p === '/') throw new FsError('EACCES', 'the root cannot be removed');
    await this.meta.remove((await this.resolve(p)).id, opts.recursive ?? false);
  }

  /** `quota`: the limit of the destination's subtree; bytes moved into it from outside count (ENOSPC). */
  async move(from: string, to: string, opts: { overwrite?: boolean; quota?: QuotaLimit } = {}): Promise<{ stat: Stat; replaced: boolean }> {
    const src = normalizePath(from);
    const dst = normalizePath(to);
    if (src === '/' || dst === '/') throw new FsError('EINVAL', 'the root cannot be moved or replaced');
    const node = await this.resolve(src);
    const { parent, existing, walked } = await this.resolveForCreate(dst);
    const limits = limitsOf(await this.resolveQuota(opts.quota, walked));
    const moved = await this.meta.move(node.id, parent.id, baseName(dst), opts.overwrite ?? false, limits);
    return { stat: toStat(dst, moved), replaced: existing !== undefined && existing.id !== node.id };
  }

  /** `quota`: the limit of the destination's subtree; the copy's bytes count in full (ENOSPC). */
  async copy(
    from: string,
    to: string,
    opts: { overwrite?: boolean; recursive?: boolean; quota?: QuotaLimit } = {},
  ): Promise<{ stat: Stat; replaced: boolean }> {
    const src = normalizePath(from);
    const dst = normalizePath(to);
    if (dst === '/') throw new FsError('EINVAL', 'the root cannot be replaced');
    const node = await this.resolve(src);
    const { parent, existing, walked } = await this.resolveForCreate(dst);
    const limits = limitsOf(await this.resolveQuota(opts.quota, walked));
    const copied = await this.meta.copy(node.id, parent.id, baseName(dst), opts.overwrite ?? false, opts.recursive ?? true, limits);
    return { stat: toStat(dst, copied), replaced: existing !== undefined };
  }

  async setAttributes(path: string, attrs: SetAttributes): Promise<Stat> {
    const p = normalizePath(path);
    return toStat(p, await this.meta.setAttributes((await this.resolve(p)).id, attrs));
  }

  async getProps(path: string): Promise<DeadProp[]> {
    return this.meta.getProps((await this.resolve(normalizePath(path))).id);
  }

  /** Dead properties of nodes already resolved, by id (PROPFIND walks: one query per page). */
  propsOf(stats: Stat[]): Promise<Map<number, DeadProp[]>> {
    return this.meta.getPropsMany(stats.map((st) => st.id));
  }

  /** The whole store's logical bytes; no quota applies to the tree as a whole. */
  async usage(path: string): Promise<Usage> {
    await this.resolve(normalizePath(path));
    return { usedBytes: await this.meta.usedBytes(), availableBytes: null };
  }

  sync(): Promise<void> {
    return this.meta.sync();
  }

  /** Logical bytes at a path: a file's size, or every file below a folder (one row read). */
  async treeBytes(path: string): Promise<number> {
    return (await this.resolve(normalizePath(path))).treeBytes;
  }

  /** All operations or none (RFC 4918 §9.2). */
  async patchProps(path: string, ops: PropPatch[]): Promise<void> {
    await this.meta.patchProps((await this.resolve(normalizePath(path))).id, ops);
  }

  /** Points the path at a content that is already durable (the one metadata transaction). */
  private async commitAt(
    p: string,
    parentId: number,
    content: NewContent,
    opts: WriteOptions,
    expectContentId: number | null | undefined,
    quota: ResolvedQuota | undefined,
  ): Promise<WriteResult> {
    const { node, created } = await this.meta.commitFile({
      parentId,
      name: baseName(p),
      content,
      mtimeMs: opts.mtimeMs ?? this.now(),
      contentType: opts.contentType,
      expectContentId,
      limits: limitsOf(quota),
    });
    return { stat: toStat(p, node), created };
  }

  /**
   * Finds a quota's root, on the path already `walked` when it lies there (the usual case: a write
   * in the user's home); ENOENT when it is missing (fail closed: nothing is written unlimited).
   */
  private async resolveQuota(quota: QuotaLimit | undefined, walked: Walked): Promise<ResolvedQuota | undefined> {
    if (!quota) return undefined;
    if (!Number.isSafeInteger(quota.maxBytes) || quota.maxBytes < 0) throw new FsError('EINVAL', 'a quota must be a non-negative integer');
    const root = normalizePath(quota.root);
    const depth = splitPath(root).length;
    const node = depth > 0 && isSameOrInside(walked.path, root) ? walked.below[depth - 1]! : await this.resolve(root);
    return { root, usedBytes: node.treeBytes, limit: { nodeId: node.id, maxBytes: quota.maxBytes } };
  }

  /**
   * Refuses, before any chunk is uploaded, a change of the file at `p` from `oldSize` to `newSize`
   * bytes that the commit's check would refuse anyway: it saves uploading a body that cannot be
   * kept. The usage is the one read on the way to the file, so this costs no query; the commit's
   * check stays the guarantee (other writers may change usage meanwhile).
   */
  private refuseEarly(quota: ResolvedQuota | undefined, p: string, oldSize: number, newSize: number): void {
    if (!quota || newSize <= oldSize || !isSameOrInside(p, quota.root)) return;
    const used = quota.usedBytes;
    if (used - oldSize + newSize > quota.limit.maxBytes) {
      throw new FsError('ENOSPC', `quota exceeded: ${newSize - oldSize} more bytes would bring ${quota.root} to ${used - oldSize + newSize} bytes, over its limit of ${quota.limit.maxBytes}`);
    }
  }

  private async resolve(p: string): Promise<NodeRow> {
    return this.endOf(await this.walk(p));
  }

  /** The file at `path` (normalised as `p`); EISDIR for a folder. */
  private async resolveFile(path: string): Promise<{ p: string; node: NodeRow }> {
    const p = normalizePath(path);
    const node = await this.resolve(p);
    if (node.kind !== 'file') throw new FsError('EISDIR', `${p} is a folder`);
    return { p, node };
  }

  /**
   * Walks the edges from the root; ENOENT for a missing node, ENOTDIR for a file mid-path. Keeps
   * every node on the way, so a quota root above `p` needs no second walk. The root itself is
   * not read (MetaStore.open creates it, a folder): one query fewer for every path but `/`.
   */
  private async walk(p: string): Promise<Walked> {
    const below: NodeRow[] = [];
    for (const name of splitPath(p)) {
      const parent = below.at(-1);
      if (parent && parent.kind !== 'dir') throw new FsError('ENOTDIR', `a component of ${p} is a file`);
      const next = await this.meta.lookup(parent?.id ?? ROOT_ID, name);
      if (!next) throw new FsError('ENOENT', `${p} does not exist`);
      below.push(next);
    }
    return { path: p, below };
  }

  /** The node a walk ended on; the root is read only when the walk is of `/`. */
  private async endOf(walked: Walked): Promise<NodeRow> {
    const last = walked.below.at(-1);
    if (last) return last;
    const root = await this.meta.getNode(ROOT_ID);
    if (!root) throw new FsError('EIO', 'metadata store has no root');
    return root;
  }

  private async resolveForCreate(p: string): Promise<{ parent: NodeRow; existing: NodeRow | undefined; walked: Walked }> {
    const walked = await this.walk(parentOf(p));
    const parent = await this.endOf(walked);
    if (parent.kind !== 'dir') throw new FsError('ENOTDIR', `${parentOf(p)} is not a folder`);
    return { parent, existing: p === '/' ? parent : await this.meta.lookup(parent.id, baseName(p)), walked };
  }

  private expectedContent(existing: NodeRow | undefined, ifEtag: string | null | undefined): number | null | undefined {
    if (ifEtag === undefined) return undefined;
    if (ifEtag === null) {
      if (existing) throw new FsError('EPRECONDITION', 'the file exists');
      return null;
    }
    if (!existing || existing.etag !== ifEtag) throw new FsError('EPRECONDITION', 'the ETag does not match');
    return existing.contentId;
  }

  /** mkdir -p races with itself: a folder created meanwhile is fine. */
  private async createDirTolerant(parentId: number, name: string): Promise<NodeRow> {
    try {
      return await this.meta.createDir(parentId, name, this.now());
    } catch (err) {
      const raced = err instanceof FsError && err.code === 'EEXIST' ? await this.meta.lookup(parentId, name) : undefined;
      if (raced?.kind === 'dir') return raced;
      throw err;
    }
  }
}

function limitsOf(quota: ResolvedQuota | undefined): NodeLimit[] | undefined {
  return quota && [quota.limit];
}

function toStat(path: string, n: NodeRow): Stat {
  return {
    path,
    name: n.name,
    kind: n.kind,
    id: n.id,
    size: n.size,
    etag: n.etag,
    mtimeMs: n.mtimeMs,
    birthMs: n.birthMs,
    ctimeMs: n.ctimeMs,
    contentType: n.contentType,
    mode: n.mode,
    uid: n.uid,
    gid: n.gid,
  };
}
