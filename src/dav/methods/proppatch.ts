// PROPPATCH (RFC 4918 §9.2): sets and removes dead properties, all or nothing; protected live
// properties are refused with 403 and the rest then fail with 424 (§9.2.1).
import type { PropPatch } from '../../vfs/types.js';
import type { DavRequest } from '../context.js';
import { PROTECTED_LIVE } from '../live-props.js';
import { guardWrite } from '../preconditions.js';
import { readXmlBody } from '../request-body.js';
import { parseProppatch } from '../xml/parse-request.js';
import { DAV_NS, type XmlName } from '../xml/xml-name.js';
import { MULTISTATUS_CLOSE, MULTISTATUS_OPEN, emptyPropElement, escapeXmlText } from '../xml/write-xml.js';
import { hrefOf } from '../href.js';
import { MS_NS, WIN32_MTIME, win32MtimeMs } from '../client-mtime.js';

export async function handleProppatch(req: DavRequest, tokens: string[]): Promise<void> {
  const { ctx, vfs, path } = req;
  const stat = await vfs.stat(path);
  await guardWrite(req, tokens, [{ path, depth: 0 }]);
  const ops = parseProppatch(await readXmlBody(req));
  const isProtected = (n: XmlName) => n.ns === DAV_NS && PROTECTED_LIVE.has(n.local);
  const refused = ops.filter((o) => isProtected(o.name));
  const groups: { status: string; names: XmlName[]; condition?: string }[] = [];
  if (refused.length) {
    groups.push({ status: '403 Forbidden', names: refused.map((o) => o.name), condition: '<D:cannot-modify-protected-property/>' });
    const rest = ops.filter((o) => !isProtected(o.name));
    if (rest.length) groups.push({ status: '424 Failed Dependency', names: rest.map((o) => o.name) });
  } else {
    const patch: PropPatch[] = ops.map((o) =>
      o.op === 'set' ? { op: 'set', prop: { ns: o.name.ns, name: o.name.local, value: o.xml } } : { op: 'remove', ns: o.name.ns, name: o.name.local },
    );
    await vfs.patchProps(path, patch);
    // Windows sets a copied file's time this way: make it the resource's own mtime too (the dead
    // property stays, for Windows to read back).
    const win32 = ops.find((o) => o.op === 'set' && o.name.ns === MS_NS && o.name.local === WIN32_MTIME);
    const mtimeMs = win32 && win32.op === 'set' ? win32MtimeMs(win32.xml) : undefined;
    if (mtimeMs !== undefined) await vfs.setAttributes(path, { mtimeMs });
    groups.push({ status: '200 OK', names: ops.map((o) => o.name) });
  }
  let xml = `${MULTISTATUS_OPEN}<D:response><D:href>${escapeXmlText(hrefOf(path, stat.kind === 'dir'))}</D:href>`;
  for (const g of groups) {
    const props = g.names.map(emptyPropElement).join('');
    xml += `<D:propstat><D:prop>${props}</D:prop><D:status>HTTP/1.1 ${g.status}</D:status>`;
    if (g.condition) xml += `<D:error>${g.condition}</D:error>`;
    xml += '</D:propstat>';
  }
  ctx.status = 207;
  ctx.type = 'application/xml; charset=utf-8';
  ctx.body = `${xml}</D:response>${MULTISTATUS_CLOSE}`;
}
