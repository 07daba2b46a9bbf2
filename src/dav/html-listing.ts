// A plain HTML listing of a collection for browsers (GET on a folder), streamed entry by entry.
import type { Stat } from '../vfs/types.js';
import type { FileSystem } from '../vfs/file-system.js';
import { hrefOf } from './href.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function* renderListing(vfs: FileSystem, dir: Stat): AsyncGenerator<string> {
  const title = escapeHtml(dir.path);
  yield `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body>\n<h1>Index of ${title}</h1>\n<table>\n`;
  yield `<tr><th>Name</th><th>Size</th><th>Modified</th></tr>\n`;
  if (dir.path !== '/') yield `<tr><td><a href="../">../</a></td><td></td><td></td></tr>\n`;
  for await (const e of vfs.list(dir.path)) {
    const name = escapeHtml(e.name) + (e.kind === 'dir' ? '/' : '');
    const size = e.kind === 'dir' ? '' : String(e.size);
    yield `<tr><td><a href="${escapeHtml(hrefOf(e.path, e.kind === 'dir'))}">${name}</a></td><td>${size}</td><td>${new Date(e.mtimeMs).toISOString()}</td></tr>\n`;
  }
  yield '</table>\n</body></html>\n';
}
