// Everyday POSIX behaviour through a real kernel mount (the mount runs in a child process; every
// command runs in bash with a timeout). Each result is compared with the same commands run on a
// local folder, byte for byte.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { shOk, useMount } from './mount-process.js';

/**
 * The suite runs on a mount that commits at every close (durable), and on one that lets a close
 * return once the bytes are spooled locally and commits after it (write_mode writeback): every
 * command must see the same results, commit or no commit yet.
 */
const MODES: { name: string; env: NodeJS.ProcessEnv }[] = [
  { name: 'commit at close', env: {} },
  { name: 'write-back, commit after close', env: { DAVFS_WRITE_MODE: 'writeback' } },
];

for (const mode of MODES) describe(`fuse mount: everyday POSIX (${mode.name})`, () => {
  const m = useMount([], mode.env);
  const M = () => m.mnt;

  it('cp -r of a tree keeps every byte and name', async () => {
    await shOk(
      `mkdir -p src/a/b src/c 'src/with space' src/ünï
       head -c 3000000 /dev/urandom > src/a/big.bin
       head -c 100 /dev/urandom > src/a/b/small
       : > src/c/empty
       for i in $(seq 1 40); do head -c $((i * 997)) /dev/urandom > src/c/f$i; done
       echo x > 'src/with space/é.txt'
       cp -r src ${M()}/tree
       diff -r src ${M()}/tree
       test "$(find src | wc -l)" = "$(cd ${M()} && find tree | wc -l)"`,
      m.work,
    );
  });

  it('appends with >> to new, small and large files', async () => {
    await shOk(
      `printf 'a\\n' > ${M()}/app; printf 'b\\n' >> ${M()}/app; printf 'c\\n' >> ${M()}/app
       test "$(cat ${M()}/app)" = "$(printf 'a\\nb\\nc')"
       head -c 5000000 /dev/urandom > big-app; cp big-app ${M()}/big-app
       head -c 300000 /dev/urandom > tail-app
       cat tail-app >> big-app; cat tail-app >> ${M()}/big-app
       cmp big-app ${M()}/big-app`,
      m.work,
    );
  });

  it('overwrites in the middle (dd conv=notrunc), small and large files', async () => {
    await shOk(
      `for size in 20000 12000000; do
         head -c $size /dev/urandom > mid; cp mid ${M()}/mid
         head -c 7000 /dev/urandom > patch
         for f in mid ${M()}/mid; do
           dd if=patch of=$f bs=4096 seek=$((size / 2)) oflag=seek_bytes conv=notrunc status=none
           dd if=patch of=$f bs=4096 seek=100 oflag=seek_bytes conv=notrunc status=none
         done
         cmp mid ${M()}/mid
       done`,
      m.work,
    );
  });

  it('random writes at many offsets match the same writes on a local file', async () => {
    // 200 writes of 1-20,000 bytes at random offsets of an 9 MB file (some past its end): the
    // commit takes the whole-file path (more than 16 extents).
    await shOk(
      `head -c 9000000 /dev/urandom > rnd; cp rnd ${M()}/rnd
       node -e '
         const fs = require("fs"); const crypto = require("crypto");
         const a = fs.openSync(process.argv[1], "r+"); const b = fs.openSync(process.argv[2], "r+");
         for (let i = 0; i < 200; i++) {
           const buf = crypto.randomBytes(1 + crypto.randomInt(20000)); const pos = crypto.randomInt(9100000);
           fs.writeSync(a, buf, 0, buf.length, pos); fs.writeSync(b, buf, 0, buf.length, pos);
         }
         fs.closeSync(a); fs.closeSync(b);' rnd ${M()}/rnd
       cmp rnd ${M()}/rnd`,
      m.work,
    );
  });

  it('a few writes into a large file commit range by range', async () => {
    await shOk(
      `head -c 20000000 /dev/urandom > few; cp few ${M()}/few
       node -e '
         const fs = require("fs");
         for (const f of process.argv.slice(1)) {
           const fd = fs.openSync(f, "r+");
           for (const pos of [5, 7000000, 19999990, 20000500]) fs.writeSync(fd, Buffer.from("patched!"), 0, 8, pos);
           fs.closeSync(fd);
         }' few ${M()}/few
       cmp few ${M()}/few`,
      m.work,
    );
  });

  it('truncates down and up (truncate(1) and O_TRUNC)', async () => {
    await shOk(
      `head -c 4000000 /dev/urandom > tr; cp tr ${M()}/tr
       for f in tr ${M()}/tr; do truncate -s 1000001 $f; truncate -s 1500000 $f; done
       cmp tr ${M()}/tr
       : > ${M()}/tr; test "$(stat -c %s ${M()}/tr)" = 0
       echo new > ${M()}/tr; test "$(cat ${M()}/tr)" = new`,
      m.work,
    );
  });

  it('writes past the end leave a hole of zeros', async () => {
    await shOk(
      `head -c 4096 /dev/urandom > blk
       for f in hole ${M()}/hole; do dd if=blk of=$f bs=4096 seek=100 status=none; done
       cmp hole ${M()}/hole; test "$(stat -c %s ${M()}/hole)" = 413696`,
      m.work,
    );
  });

  it('rename replaces an existing file atomically and keeps the content', async () => {
    await shOk(
      `echo one > ${M()}/r1; echo two > ${M()}/r2
       mv ${M()}/r1 ${M()}/r2
       test "$(cat ${M()}/r2)" = one; test ! -e ${M()}/r1
       mkdir -p ${M()}/d1/sub ${M()}/d2; echo in > ${M()}/d1/sub/f
       mv -T ${M()}/d1 ${M()}/d2; test "$(cat ${M()}/d2/sub/f)" = in; test ! -e ${M()}/d1`,
      m.work,
    );
    // POSIX: a folder cannot replace a non-empty folder or a file, nor a file a folder.
    const out = await shOk(
      `mkdir -p ${M()}/e1 ${M()}/e2/x; echo f > ${M()}/ef
       node -e '
         const fs = require("fs"); const [e1, e2, ef] = process.argv.slice(1);
         for (const [a, b] of [[e1, e2], [e1, ef], [ef, e1]]) {
           try { fs.renameSync(a, b); console.log("renamed"); } catch (err) { console.log(err.code); }
         }' ${M()}/e1 ${M()}/e2 ${M()}/ef
       test -d ${M()}/e2/x && test -f ${M()}/ef && echo kept`,
    );
    assert.deepEqual(out.trim().split('\n'), ['ENOTEMPTY', 'ENOTDIR', 'EISDIR', 'kept']);
  });

  it('renames a file while it is being written (the stream commits, writes go on at the new name)', async () => {
    await shOk(
      `exec 3> ${M()}/w; echo abc >&3; mv ${M()}/w ${M()}/w2; echo def >&3; exec 3>&-
       test "$(cat ${M()}/w2)" = "$(printf 'abc\\ndef')"; test ! -e ${M()}/w`,
    );
  });

  it('mkdir -p, rmdir and rm -r', async () => {
    await shOk(
      `mkdir -p ${M()}/p/q/r/s; test -d ${M()}/p/q/r/s
       mkdir -p ${M()}/p/q/r/s
       for i in 1 2 3; do echo $i > ${M()}/p/q/f$i; done
       ! rmdir ${M()}/p/q 2>/dev/null
       rmdir ${M()}/p/q/r/s
       rm -r ${M()}/p; test ! -e ${M()}/p
       ! mkdir ${M()}/nope/deeper 2>/dev/null`,
    );
  });

  it('touch -d sets the modification time; touch of a new file creates it empty', async () => {
    await shOk(
      `touch ${M()}/t1; test "$(stat -c %s ${M()}/t1)" = 0
       touch -d '2001-02-03 04:05:06 UTC' ${M()}/t1
       test "$(stat -c %Y ${M()}/t1)" = 981173106
       echo data > ${M()}/t2; touch -d '@1000000000' ${M()}/t2; test "$(stat -c %Y ${M()}/t2)" = 1000000000
       sleep 1.2; test "$(stat -c %Y ${M()}/t1)" = 981173106`,
    );
  });

  it('chmod and chown stick (after the caches expire too)', async () => {
    await shOk(
      `echo x > ${M()}/perm; chmod 640 ${M()}/perm; chown 1234:5678 ${M()}/perm
       mkdir ${M()}/pdir; chmod 700 ${M()}/pdir
       test "$(stat -c '%a %u %g' ${M()}/perm)" = '640 1234 5678'
       sleep 1.2
       test "$(stat -c '%a %u %g' ${M()}/perm)" = '640 1234 5678'
       test "$(stat -c %a ${M()}/pdir)" = 700
       install -m 600 /dev/null ${M()}/inst; test "$(stat -c %a ${M()}/inst)" = 600`,
    );
  });

  it('an unlinked open file keeps its data for the open descriptor', async () => {
    await shOk(
      `head -c 3000000 /dev/urandom > ul; cp ul ${M()}/ul
       exec 3< ${M()}/ul
       rm ${M()}/ul; test ! -e ${M()}/ul
       cat <&3 > ul-back; exec 3<&-
       cmp ul ul-back`,
      m.work,
    );
    // libfuse's hidden name goes when the last descriptor closes (release is asynchronous).
    await shOk(`for i in $(seq 50); do ls -A ${M()} | grep -q fuse_hidden || exit 0; sleep 0.1; done; ls -A ${M()}; exit 1`);
  });

  it('a file unlinked while open for writing keeps working for its descriptor, then goes', async () => {
    const out = await shOk(
      `node -e '
         const fs = require("fs"); const p = process.argv[1];
         const fd = fs.openSync(p, "w+");
         fs.writeSync(fd, "temp data");
         fs.unlinkSync(p);
         fs.writeSync(fd, " and more");
         const buf = Buffer.alloc(100);
         const n = fs.readSync(fd, buf, 0, 100, 0);
         console.log(buf.subarray(0, n).toString(), fs.existsSync(p));
         fs.closeSync(fd);' ${M()}/scratch
       for i in $(seq 50); do ls -A ${M()} | grep -q fuse_hidden || break; sleep 0.1; done
       ls -A ${M()} | grep -c fuse_hidden || true`,
    );
    assert.equal(out, 'temp data and more false\n0\n');
  });

  it('concurrent readers see the old or the new version while a writer replaces the file', async () => {
    await shOk(
      `head -c 6000000 /dev/urandom > v1; head -c 5000000 /dev/urandom > v2
       cp v1 ${M()}/shared
       a=$(sha256sum < v1); b=$(sha256sum < v2)
       reader() { for i in $(seq 8); do sha256sum < ${M()}/shared; done > sums-$1; }
       for r in 1 2 3 4; do reader $r & done
       for j in 1 2 3; do cp v2 ${M()}/.tmp-w; mv ${M()}/.tmp-w ${M()}/shared; cp v1 ${M()}/.tmp-w; mv ${M()}/.tmp-w ${M()}/shared; done
       wait
       cat sums-* | sort | uniq -c
       ! grep -v -e "$a" -e "$b" sums-*`,
      m.work,
    );
  });

  it('df reports the store usage; fsync and conv=fsync succeed', async () => {
    await shOk(`df -P ${M()} | tail -1 | grep -q davfs-bridge
      head -c 1000000 /dev/urandom | dd of=${M()}/fs bs=64k conv=fsync status=none; test "$(stat -c %s ${M()}/fs)" = 1000000`);
  });
});
