// XML of locks in responses: DAV:activelock inside lockdiscovery (RFC 4918 §14.1).
import type { Lock } from '../locks/lock-manager.js';
import { timeoutHeader } from '../locks/lock-manager.js';
import { escapeXmlText } from './xml/write-xml.js';

export function activeLockXml(lock: Lock, hrefOf: (path: string, isDir: boolean) => string): string {
  return (
    '<D:activelock>' +
    '<D:locktype><D:write/></D:locktype>' +
    `<D:lockscope><D:${lock.scope}/></D:lockscope>` +
    `<D:depth>${lock.depth === 0 ? '0' : 'infinity'}</D:depth>` +
    (lock.ownerXml ?? '') +
    `<D:timeout>${timeoutHeader(lock)}</D:timeout>` +
    `<D:locktoken><D:href>${escapeXmlText(lock.token)}</D:href></D:locktoken>` +
    `<D:lockroot><D:href>${escapeXmlText(hrefOf(lock.root, false))}</D:href></D:lockroot>` +
    '</D:activelock>'
  );
}

/** The body of a LOCK response: the lockdiscovery of the lock just taken or refreshed. */
export function lockResponseXml(lock: Lock, hrefOf: (path: string, isDir: boolean) => string): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLockXml(lock, hrefOf)}</D:lockdiscovery></D:prop>`;
}
