// Runs the FileSystem contract against every implementation: the in-process Vfs, and
// RemoteFileSystem over HTTP to a real `davfs-bridge serve` child process (small blocks, so the
// suite's files span many of them).
import { makeTestCore } from '../helpers/core.js';
import { startServeTarget } from '../helpers/remote-servers.js';
import { RemoteFileSystem } from '../../src/remote/remote-file-system.js';
import { fileSystemContract } from './file-system.contract.js';

fileSystemContract('Vfs', async () => {
  const core = await makeTestCore();
  return { fs: core.vfs, close: () => core.close() };
});

fileSystemContract('RemoteFileSystem → davfs-bridge serve', async () => {
  const target = await startServeTarget();
  const fs = await RemoteFileSystem.connect({ url: target.url, user: target.user, password: target.password, blockBytes: 64 * 1024, cacheBytes: 4 * 1024 * 1024 });
  return {
    fs,
    close: async () => {
      await fs.close();
      await target.stop();
    },
  };
});
