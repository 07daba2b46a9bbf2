// One user's namespace: the paths they see, mapped onto the tree. Their home is their `/`; each
// shared folder granted to them appears as `/<share name>` inside it (hiding a home entry of the
// same name). Every visible path is normalised (core/paths.ts refuses `..`, NUL, backslashes)
// before it is joined below a mount's tree path, so no visible path can name anything outside the
// user's home and shares.
import { FsError } from '../core/errors.js';
import { baseName, isSameOrInside, normalizePath, splitPath } from '../core/paths.js';
import type { QuotaLimit } from '../vfs/types.js';

export type Rights = 'r' | 'rw';

/** What a user may see and do, read from the metadata store on each request. */
export interface UserView {
  name: string;
  /** The user's root in the tree. */
  home: string;
  readOnly: boolean;
  /** Limit on the logical bytes under the home; null for none. */
  quotaBytes: number | null;
  shares: { name: string; path: string; rights: Rights }[];
}

/** A subtree of the tree that appears at `visible` in the user's namespace. */
export interface Mount {
  /** Where it appears: `/` for the home, `/<name>` for a share. */
  visible: string;
  /** The tree path it shows. */
  real: string;
  writable: boolean;
  /** The quota that writes under this mount count against. */
  quota: QuotaLimit | undefined;
}

export interface Resolved {
  mount: Mount;
  /** The tree path of the visible path. */
  real: string;
  /** The visible path, normalised. */
  visible: string;
}

export class Namespace {
  readonly home: Mount;
  readonly shares: Mount[];

  constructor(readonly view: UserView) {
    const home = normalizePath(view.home);
    this.home = {
      visible: '/',
      real: home,
      writable: !view.readOnly,
      quota: view.quotaBytes === null ? undefined : { root: home, maxBytes: view.quotaBytes },
    };
    this.shares = view.shares
      .map((s) => ({ visible: normalizePath(`/${s.name}`), real: normalizePath(s.path), writable: !view.readOnly && s.rights === 'rw', quota: undefined }))
      .sort((a, b) => (a.visible < b.visible ? -1 : a.visible > b.visible ? 1 : 0));
  }

  /** Maps a visible path to its mount and tree path. */
  resolve(path: string): Resolved {
    const visible = normalizePath(path);
    const first = splitPath(visible)[0];
    const mount = first === undefined ? this.home : (this.shares.find((m) => m.visible === `/${first}`) ?? this.home);
    const rest = mount.visible === '/' ? visible : visible.slice(mount.visible.length);
    const real = rest === '' || rest === '/' ? mount.real : mount.real === '/' ? rest : mount.real + rest;
    return { mount, real, visible };
  }

  /** Like resolve, refusing with EACCES when the mount is read-only. */
  resolveWritable(path: string): Resolved {
    const r = this.resolve(path);
    if (!r.mount.writable) throw new FsError('EACCES', `${r.visible} is read-only for ${this.view.name}`);
    return r;
  }

  /** Like resolveWritable, also refusing the mount points themselves (a home or share cannot be removed, moved or replaced). */
  resolveMember(path: string): Resolved {
    const r = this.resolveWritable(path);
    if (r.visible === r.mount.visible) throw new FsError('EACCES', `${r.visible} is a root of ${this.view.name}'s share and cannot be removed or replaced`);
    return r;
  }

  /** The visible path of tree path `real`, seen through `mount`; undefined when outside it. */
  toVisible(mount: Mount, real: string): string | undefined {
    if (!isSameOrInside(real, mount.real)) return undefined;
    const rest = mount.real === '/' ? real : real.slice(mount.real.length);
    if (rest === '' || rest === '/') return mount.visible;
    return mount.visible === '/' ? rest : mount.visible + rest;
  }

  /** True when a home entry of this name is hidden by a share mounted over it. */
  isShadowed(name: string): boolean {
    return this.shares.some((m) => baseName(m.visible) === name);
  }

  /** The share mounted at `/<name>`, if any. */
  shareAt(visible: string): Mount | undefined {
    return this.shares.find((m) => m.visible === visible);
  }
}
