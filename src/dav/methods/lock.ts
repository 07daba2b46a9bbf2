// LOCK and UNLOCK (RFC 4918 §9.10, §9.11). Locks are rows in the metadata store, so they survive
// restarts and hold across nodes. LOCK on an unmapped URL creates an empty file (§7.3).
import { parentOf } from '../../core/paths.js';
import { parseTimeout } from '../../locks/lock-manager.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../dav-error.js';
import { parseDepth } from '../depth.js';
import { hrefOf } from '../href.js';
import { lockResponseXml } from '../lock-xml.js';
import { guardWrite } from '../preconditions.js';
import { readXmlBody } from '../request-body.js';
import { parseLockinfo } from '../xml/parse-request.js';

export async function handleLock(req: DavRequest, tokens: string[]): Promise<void> {
  const { ctx, vfs, path, locks } = req;
  const info = parseLockinfo(await readXmlBody(req));
  const timeout = parseTimeout(ctx.get('Timeout') || undefined);
  ctx.type = 'application/xml; charset=utf-8';

  if (info === null) {
    // §9.10.2: a refresh names its lock in the If header and has no body.
    const token = tokens[0];
    if (!token) throw new DavError(400, 'a lock refresh needs the lock token in an If header');
    const lock = await locks.refresh(path, token, timeout, req.principal);
    ctx.status = 200;
    ctx.body = lockResponseXml(lock, hrefOf);
    return;
  }

  const depth = parseDepth(ctx.get('Depth') || undefined, 'infinity', [0, 'infinity']) === 0 ? 0 : 'infinity';
  const existing = await vfs.tryStat(path).catch(() => undefined);
  if (!existing) {
    const parent = await vfs.tryStat(parentOf(path)).catch(() => undefined);
    if (parent?.kind !== 'dir') throw new DavError(409, 'parent collection does not exist');
    await guardWrite(req, tokens, [{ path: parentOf(path), depth: 0 }]);
  }
  const lock = await locks.lock({ path, depth, scope: info.scope, ownerXml: info.ownerXml, principal: req.principal, timeout });
  if (!existing) {
    try {
      await vfs.write(path, (async function* () {})(), { ifEtag: null });
    } catch (err) {
      await locks.unlock(path, lock.token, req.principal).catch(() => undefined);
      throw err;
    }
  }
  ctx.set('Lock-Token', `<${lock.token}>`);
  ctx.status = existing ? 200 : 201;
  ctx.body = lockResponseXml(lock, hrefOf);
}

export async function handleUnlock(req: DavRequest): Promise<void> {
  const raw = req.ctx.get('Lock-Token').trim();
  if (!raw) throw new DavError(400, 'UNLOCK needs a Lock-Token header');
  // Some clients send the token without the angle brackets RFC 4918 §10.5 asks for.
  const token = raw.startsWith('<') && raw.endsWith('>') ? raw.slice(1, -1) : raw;
  await req.vfs.stat(req.path);
  await req.locks.unlock(req.path, token, req.principal);
  req.ctx.status = 204;
}
