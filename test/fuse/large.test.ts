// Sizes that matter through a real mount: a 1 GiB file of random data (not zeros: the store is
// content-addressed and would store zeros as one chunk), and a folder of 10,000 files.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { shOk, useMount } from './mount-process.js';

const TEN_MINUTES = 600_000;

// Also with commits after close (write_mode writeback): the 1 GiB file is read back while its
// commit may still run, and 10,000 closes pass the bound of 1000 files waiting for a commit.
for (const [name, env] of [['commit at close', {}], ['write-back, commit after close', { DAVFS_WRITE_MODE: 'writeback' }]] as const) describe(`fuse mount: large files and folders (${name})`, () => {
  const m = useMount([], env);

  it('a 1 GiB file of random data keeps its sha256 (whole and in a range)', { timeout: TEN_MINUTES }, async () => {
    const out = await shOk(
      `head -c 1073741824 /dev/urandom > big
       cp big ${m.mnt}/big
       test "$(stat -c %s ${m.mnt}/big)" = 1073741824
       sha256sum < big; sha256sum < ${m.mnt}/big
       dd if=big bs=1M skip=700 count=3 status=none | sha256sum
       dd if=${m.mnt}/big bs=1M skip=700 count=3 status=none | sha256sum
       rm big`,
      m.work,
      TEN_MINUTES,
    );
    const [whole, wholeMount, range, rangeMount] = out.trim().split('\n');
    assert.equal(wholeMount, whole);
    assert.equal(rangeMount, range);
  });

  it('a folder of 10,000 files is created and listed with ls', { timeout: TEN_MINUTES }, async () => {
    const out = await shOk(
      `mkdir ${m.mnt}/tenk
       node -e '
         const fs = require("fs"); const dir = process.argv[1];
         for (let i = 0; i < 10000; i++) fs.writeFileSync(dir + "/file-" + String(i).padStart(5, "0"), "content of " + i + "\\n");
       ' ${m.mnt}/tenk
       ls ${m.mnt}/tenk | wc -l
       ls -l ${m.mnt}/tenk | tail -n +2 | wc -l
       ls ${m.mnt}/tenk | sed -n '1p;$p'
       cat ${m.mnt}/tenk/file-04321`,
      m.work,
      TEN_MINUTES,
    );
    assert.deepEqual(out.trim().split('\n'), ['10000', '10000', 'file-00000', 'file-09999', 'content of 4321']);
  });
});
