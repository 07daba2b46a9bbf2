// PROPFIND (RFC 4918 §9.1): streams the multistatus page by page, so a folder of a million
// entries never sits in memory; live properties are computed, dead ones read one query per page.
import { Readable } from 'node:stream';
import { lockCovers, type Lock } from '../../locks/lock-manager.js';
import type { Usage } from '../../vfs/file-system.js';
import type { DeadProp, Stat } from '../../vfs/types.js';
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
/** Resources per page: one dead-property query and one write per page. */
const PAGE = 500;

interface Walk {
  req: DavRequest;
  request: PropfindRequest;
  locks: Lock[];
  usage: Usage | undefined;
}

export async function handlePropfind(req: DavRequest): Promise<void> {
  const { ctx, vfs, path } = req;
  const depth = parseDepth(ctx.get('Depth') || undefined, 'infinity', [0, 1, 'infinity']);
  if (depth === 'infinity' && !req.options.allowInfiniteDepth) {
    throw new DavError(403, 'Depth: infinity is not allowed', '<D:propfind-finite-depth/>');
  }
  const request = parsePropfind(await readXmlBody(req));
  const root = await vfs.stat(path);
  // RFC 4331: one figure per request, for the tree the request's root lives in (a user's home or a
  // shared folder), fetched only when asked for.
  const asksQuota = request.kind === 'prop' && request.props.some((n) => n.ns === DAV_NS && n.local.startsWith('quota-'));
  const w: Walk = {
    req,
    request,
    // Locks are read once for the whole subtree, then matched per resource in memory.
    locks: await req.locks.discoverTree(path),
    usage: asksQuota ? await vfs.usage(path) : undefined,
  };

  ctx.status = 207;
  ctx.type = 'application/xml; charset=utf-8';
  ctx.body = Readable.from(
    (async function* () {
      yield MULTISTATUS_OPEN + (await page(w, [root]));
      if (root.kind === 'dir' && depth !== 0) yield* walk(w, root, depth === 1 ? 1 : Infinity);
      yield MULTISTATUS_CLOSE;
    })(),
  );
}

async function* walk(w: Walk, dir: Stat, levels: number): AsyncGenerator<string> {
  let batch: Stat[] = [];
  const subdirs: Stat[] = [];
  for await (const child of w.req.vfs.list(dir.path)) {
    batch.push(child);
    if (child.kind === 'dir' && levels > 1) subdirs.push(child);
    if (batch.length === PAGE) {
      yield await page(w, batch);
      batch = [];
    }
  }
  if (batch.length) yield await page(w, batch);
  for (const sub of subdirs) yield* walk(w, sub, levels - 1);
}

async function page(w: Walk, stats: Stat[]): Promise<string> {
  const props = await w.req.vfs.propsOf(stats);
  return stats.map((s) => response(w, s, props.get(s.id) ?? [])).join('');
}

function response(w: Walk, stat: Stat, dead: DeadProp[]): string {
  const { request } = w;
  const ctx: LiveContext = { stat, locks: w.locks.filter((l) => lockCovers(l, stat.path)), hrefOf, usage: w.usage };
  const found: string[] = [];
  const missing: string[] = [];
  if (request.kind === 'propname') {
    for (const n of ALLPROP_LIVE) if (liveValue(n, ctx) !== undefined) found.push(emptyPropElement({ ns: DAV_NS, local: n }));
    for (const p of dead) found.push(emptyPropElement({ ns: p.ns, local: p.name }));
  } else {
    const names: XmlName[] =
      request.kind === 'prop' ? request.props : [...ALLPROP_LIVE.map((local) => ({ ns: DAV_NS, local })), ...request.include.filter((n) => !isAllpropLive(n))];
    for (const name of names) {
      const value = valueOf(name, ctx, dead);
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
function valueOf(name: XmlName, ctx: LiveContext, dead: DeadProp[]): string | undefined {
  if (name.ns === DAV_NS && LIVE_NAMES.has(name.local)) {
    const live = liveValue(name.local, ctx);
    if (live !== undefined) return propElement(name, live);
  }
  return dead.find((p) => p.ns === name.ns && p.name === name.local)?.value;
}

function isAllpropLive(n: XmlName): boolean {
  return n.ns === DAV_NS && (ALLPROP_LIVE as readonly string[]).includes(n.local);
}
