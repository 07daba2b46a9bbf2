// PROPFIND (RFC 4918 §9.1): streams one <D:response> per resource, so a folder of a million
// entries never sits in memory; live properties are computed, dead ones read from the store.
import { Readable } from 'node:stream';
import type { DeadProp } from '../../vfs/types.js';
import type { Lock } from '../../locks/lock-manager.js';
import type { Stat } from '../../vfs/types.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../dav-error.js';
import { parseDepth } from '../depth.js';
import { hrefOf } from '../href.js';
import { ALLPROP_LIVE, NAMED_ONLY_LIVE, liveValue, type LiveContext } from '../live-props.js';
import { readXmlBody } from '../request-body.js';
import { parsePropfind, type PropfindRequest } from '../xml/parse-request.js';
import { DAV_NS, type XmlName } from '../xml/xml-name.js';
import { MULTISTATUS_CLOSE, MULTISTATUS_OPEN, emptyPropElement, escapeXmlText, propElement } from '../xml/write-xml.js';

const LIVE_NAMES = new Set<string>([...ALLPROP_LIVE, ...NAMED_ONLY_LIVE]);

export async function handlePropfind(req: DavRequest): Promise<void> {
  const { ctx, vfs, path } = req;
  const depth = parseDepth(ctx.get('Depth') || undefined, 'infinity', [0, 1, 'infinity']);
  if (depth === 'infinity' && !req.options.allowInfiniteDepth) {
    throw new DavError(403, 'Depth: infinity is not allowed', '<D:propfind-finite-depth/>');
  }
  const request = parsePropfind(await readXmlBody(req));
  const root = await vfs.stat(path);
  // Locks are read once for the whole subtree, then matched per resource in memory.
  const locks = await req.locks.discoverTree(path);
  let used: Promise<number> | undefined;
  const usedBytes = () => (used ??= vfs.usedBytes());

  ctx.status = 207;
  ctx.type = 'application/xml; charset=utf-8';
  ctx.body = Readable.from(
    (async function* () {
      yield MULTISTATUS_OPEN;
      yield await response(req, root, request, locks, usedBytes);
      if (root.kind === 'dir' && depth !== 0) yield* walk(req, root, depth === 1 ? 1 : Infinity, request, locks, usedBytes);
      yield MULTISTATUS_CLOSE;
    })(),
  );
}

async function* walk(req: DavRequest, dir: Stat, levels: number, request: PropfindRequest, locks: Lock[], usedBytes: () => Promise<number>): AsyncGenerator<string> {
  for await (const child of req.vfs.list(dir.path)) {
    yield await response(req, child, request, locks, usedBytes);
    if (child.kind === 'dir' && levels > 1) yield* walk(req, child, levels - 1, request, locks, usedBytes);
  }
}

async function response(req: DavRequest, stat: Stat, request: PropfindRequest, allLocks: Lock[], usedBytes: () => Promise<number>): Promise<string> {
  const ctx: LiveContext = { stat, locks: allLocks.filter((l) => covers(l, stat.path)), hrefOf, usedBytes };
  const dead = await req.vfs.propsById(stat.id);
  const found: string[] = [];
  const missing: string[] = [];
  if (request.kind === 'propname') {
    for (const n of ALLPROP_LIVE) if ((await liveValue(n, ctx)) !== undefined) found.push(emptyPropElement({ ns: DAV_NS, local: n }));
    for (const p of dead) found.push(emptyPropElement({ ns: p.ns, local: p.name }));
  } else {
    const names: XmlName[] =
      request.kind === 'prop' ? request.props : [...ALLPROP_LIVE.map((local) => ({ ns: DAV_NS, local })), ...request.include.filter((n) => !isAllpropLive(n))];
    for (const name of names) {
      const value = await valueOf(name, ctx, dead);
      if (value !== undefined) found.push(value);
      else if (request.kind === 'prop' || request.include.some((n) => n.ns === name.ns && n.local === name.local)) missing.push(emptyPropElement(name));
    }
    if (request.kind === 'allprop') for (const p of dead) if (!(p.ns === DAV_NS && LIVE_NAMES.has(p.name))) found.push(p.value);
  }
  let xml = `<D:response><D:href>${escapeXmlText(hrefOf(stat.path, stat.kind === 'dir'))}</D:href>`;
  if (found.length) xml += `<D:propstat><D:prop>${found.join('')}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>`;
  if (missing.length) xml += `<D:propstat><D:prop>${missing.join('')}</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>`;
  return xml + '</D:response>';
}

/** The full element for `name`: live value if the server defines one, else the dead property. */
async function valueOf(name: XmlName, ctx: LiveContext, dead: DeadProp[]): Promise<string | undefined> {
  if (name.ns === DAV_NS && LIVE_NAMES.has(name.local)) {
    const live = await liveValue(name.local, ctx);
    if (live !== undefined) return propElement(name, live);
  }
  return dead.find((p) => p.ns === name.ns && p.name === name.local)?.value;
}

function isAllpropLive(n: XmlName): boolean {
  return n.ns === DAV_NS && (ALLPROP_LIVE as readonly string[]).includes(n.local);
}

/** A lock covers a path at its root, and below it when its depth is infinity. */
export function covers(lock: Lock, path: string): boolean {
  if (lock.root === path) return true;
  return lock.depth === 'infinity' && (lock.root === '/' || path.startsWith(lock.root + '/'));
}
