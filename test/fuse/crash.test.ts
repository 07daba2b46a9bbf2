// kill -9 of the mount process: the kernel keeps a dead mount ("Transport endpoint is not
// connected") that the next `mount` clears by itself, nothing an fsync acknowledged is lost, and
// no .fuse_hidden file of an unlinked open file is left in the store.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { delayedCommitMount, forceUnmount, sh, shOk, startMount, tempDir } from './mount-process.js';

/**
 * A writer in its own process: writes `synced` bytes (and the same to a local copy), fsyncs, says
 * so, then keeps appending without fsync until it is killed. The appends were never acknowledged.
 */
const WRITER = `
const fs = require('fs');
const [path, synced, copy] = [process.argv[1], Number(process.argv[2]), process.argv[3]];
const fd = fs.openSync(path, 'w');
const cfd = fs.openSync(copy, 'w');
const block = Buffer.alloc(65536);
let seed = 12345;
function fill() { for (let i = 0; i < block.length; i++) { seed = (seed * 1103515245 + 12345) >>> 0; block[i] = seed >>> 24; } }
for (let n = 0; n < synced; n += block.length) {
  fill();
  fs.writeSync(fd, block, 0, Math.min(block.length, synced - n));
  fs.writeSync(cfd, block, 0, Math.min(block.length, synced - n));
}
fs.fsyncSync(fd);
fs.closeSync(cfd);
console.log('synced');
setInterval(() => { fill(); try { fs.writeSync(fd, block); } catch { process.exit(0); } }, 20);
`;

describe('fuse mount: kill -9', () => {
  it('the next mount clears the stale mount and finds everything fsync acknowledged', { timeout: 300_000 }, async () => {
    const root = tempDir('crash');
    const mnt = join(root, 'mnt');
    const data = join(root, 'data');
    const args = ['--data', data];
    let mount = await startMount(mnt, args);
    try {
      await shOk(
        `head -c 3000000 /dev/urandom > ${root}/closed; cp ${root}/closed ${mnt}/closed
         echo one > ${mnt}/edited; echo two >> ${mnt}/edited; sync ${mnt}/edited`,
      );
      const writer = spawn(process.execPath, ['-e', WRITER, join(mnt, 'fsynced'), String(5 * 1024 * 1024), join(root, 'expected')], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        writer.once('exit', (code) => reject(new Error(`writer exited with ${code}`)));
        createInterface({ input: writer.stdout! }).on('line', (line) => line === 'synced' && resolve());
      });
      // A file unlinked while a reader holds it open: libfuse renames it to .fuse_hidden<N> and
      // would remove that name at the reader's close, which never comes before the kill.
      await shOk(`echo doomed > ${mnt}/doomed`);
      const holder = spawn('sh', ['-c', `exec 3<${mnt}/doomed; read line`], { stdio: ['pipe', 'ignore', 'inherit'] });
      await shOk(`for i in $(seq 50); do [ -n "$(ls /proc/${holder.pid}/fd/3 2>/dev/null)" ] && break; sleep 0.1; done; rm ${mnt}/doomed`);
      assert.match(await shOk(`ls -A ${mnt}`), /\.fuse_hidden[0-9a-f]{16}/);
      // Let some unacknowledged appends reach the mount, then kill it mid-stream.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await mount.kill();
      writer.kill('SIGKILL');
      holder.kill('SIGKILL');

      const stale = await sh(`stat ${mnt}`);
      assert.notEqual(stale.code, 0);
      assert.match(stale.stderr, /Transport endpoint is not connected/);

      mount = await startMount(mnt, args);
      assert.match(mount.output(), /stale mount/);
      assert.match(mount.output(), /removed files that a crashed mount left unlinked while open/);
      // The first 5 MiB were fsynced; the appends after it were never acknowledged and are gone.
      await shOk(`cmp ${root}/expected ${mnt}/fsynced`);
      await shOk(`cmp ${root}/closed ${mnt}/closed; test "$(cat ${mnt}/edited)" = "$(printf 'one\\ntwo')"`);
      assert.equal(await shOk(`ls -A ${mnt} | sort | tr '\\n' ' '`), 'closed edited fsynced ');
    } finally {
      await mount.stop().catch(() => undefined);
      forceUnmount(mnt);
    }
  });

  it('write-back: what a close returned for before its commit is committed by the next mount', { timeout: 300_000 }, async () => {
    // Commits wait 10 minutes: only the next mount (the kill surely comes first) can commit them.
    const { root, mnt, data, args, env } = delayedCommitMount('crash-wb');
    let mount = await startMount(mnt, args, env);
    try {
      await shOk(
        `head -c 3000000 /dev/urandom > ${root}/closed; cp ${root}/closed ${mnt}/closed
         echo one > ${mnt}/edited; echo two >> ${mnt}/edited
         head -c 2000000 /dev/urandom > ${root}/renamed; cp ${root}/renamed ${mnt}/tmp; mv ${mnt}/tmp ${mnt}/renamed
         test "$(stat -c %s ${mnt}/closed)" = 3000000`,
      );
      // Closed and not committed: their bytes are in the mount's spool (the rename committed one).
      const spool = join(data, 'cache-mount', 'open-files');
      assert.equal(readdirSync(spool).filter((n) => n.startsWith('spool-')).length, 2);
      await mount.kill();

      mount = await startMount(mnt, args, env);
      assert.match(mount.output(), /committed files that the last mount had closed and not committed/);
      await shOk(`cmp ${root}/closed ${mnt}/closed; cmp ${root}/renamed ${mnt}/renamed; test "$(cat ${mnt}/edited)" = "$(printf 'one\\ntwo')"`);
      assert.equal(await shOk(`ls -A ${mnt} | sort | tr '\\n' ' '`), 'closed edited renamed ');
      assert.deepEqual(readdirSync(spool), ['journal.jsonl']);
    } finally {
      await mount.stop().catch(() => undefined);
      forceUnmount(mnt);
    }
  });
});
