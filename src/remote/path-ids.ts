// Node ids for a remote tree: WebDAV has no inode numbers, so each path gets a number the first
// time this session sees it, kept while it exists and carried along when this client moves it.
// A per-session map rather than a hash of the path: ids never collide (a 53-bit hash would, about
// once in 10^4 mounts of a million files), at the price of memory per path seen.

/** The root's id, as FUSE expects (its root inode is 1). */
export const ROOT_NODE_ID = 1;

export class PathIds {
  private readonly ids = new Map<string, number>([['/', ROOT_NODE_ID]]);
  private next = ROOT_NODE_ID + 1;

  idOf(path: string): number {
    let id = this.ids.get(path);
    if (id === undefined) {
      id = this.next++;
      this.ids.set(path, id);
    }
    return id;
  }

  /** After a MOVE: the moved paths keep their ids under the new names; whatever stood there is gone. */
  move(from: string, to: string): void {
    this.forget(to);
    for (const [path, id] of [...this.ids]) {
      if (!within(path, from)) continue;
      this.ids.delete(path);
      this.ids.set(to + path.slice(from.length), id);
    }
  }

  /** After a DELETE (or a replacement): a new node at the same path gets a new id. */
  forget(path: string): void {
    if (path === '/') return;
    for (const p of [...this.ids.keys()]) if (within(p, path)) this.ids.delete(p);
  }

  get size(): number {
    return this.ids.size;
  }
}

/** True if `p` is `root` or below it. */
export function within(p: string, root: string): boolean {
  return root === '/' || p === root || p.startsWith(`${root}/`);
}
