// A temporary local copy of bytes about to be uploaded. A rewrite built from the old version
// (truncate, writeRange without PATCH) must read all of that version before the PUT starts: many
// servers (rclone, Apache) write a PUT into the file in place, so old bytes read during the upload
// would already be new ones — or the server would answer 412 to the GETs for them.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ByteSource } from '../vfs/types.js';

export interface Spooled {
  size: number;
  body(): AsyncIterable<Uint8Array>;
  remove(): Promise<void>;
}

export async function spool(dir: string, source: ByteSource): Promise<Spooled> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `spool-${randomBytes(8).toString('hex')}`);
  let size = 0;
  const counted = async function* () {
    for await (const b of source) {
      size += b.length;
      yield b;
    }
  };
  try {
    await pipeline(Readable.from(counted()), createWriteStream(file));
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
  return {
    size,
    body: () => createReadStream(file, { highWaterMark: 1 << 20 }),
    remove: () => rm(file, { force: true }),
  };
}
