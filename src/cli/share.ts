// `davfs-bridge share add|rm|grant|revoke|list`: shared folders. A share names a folder of the tree;
// each user granted it sees it as `/<share name>` in their own root, read-only ('r') or read-write
// ('rw'). Safe beside a running server: grants are rows, read on every request.
import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { FsError } from '../core/errors.js';
import type { ShareRights, ShareRow } from '../meta/meta-store.js';
import { withMetaStore } from './open-stores.js';
import { addStoreOptions, configSources, type StoreFlags } from './serve.js';

interface GrantFlags extends StoreFlags {
  rights?: string;
}

function describeShare(s: ShareRow): string {
  const grants = s.grants.map((g) => `${g.userName}:${g.rights}`).join(',') || '(no grants)';
  return `${s.name}\t${s.path}\t${grants}`;
}

function parseRights(text: string | undefined): ShareRights {
  const rights = text ?? 'r';
  if (rights !== 'r' && rights !== 'rw') throw new FsError('EINVAL', `--rights must be r or rw, not "${rights}"`);
  return rights;
}

export function registerShare(program: Command): void {
  const share = program.command('share').description('shared folders: granted users see them at /<share name> in their root');

  addStoreOptions(share.command('add <name> <path>').description('share the folder at PATH (a path of the whole tree) under NAME')).action(
    async (name: string, path: string, flags: StoreFlags) => {
      const created = await withMetaStore(loadConfig(configSources(flags)), (meta) => meta.createShare(name, path, Date.now()));
      console.log(`share added: ${describeShare(created)}`);
    },
  );

  addStoreOptions(share.command('rm <name>').description('remove a share and its grants (the folder and its files stay)')).action(
    async (name: string, flags: StoreFlags) => {
      await withMetaStore(loadConfig(configSources(flags)), (meta) => meta.deleteShare(name));
      console.log(`share removed: ${name}`);
    },
  );

  addStoreOptions(share.command('grant <name> <user>').description("give USER the share, read-only by default"))
    .option('--rights <r|rw>', 'r (read-only, the default) or rw (read and write)')
    .action(async (name: string, user: string, flags: GrantFlags) => {
      const rights = parseRights(flags.rights);
      await withMetaStore(loadConfig(configSources(flags)), (meta) => meta.grantShare(name, user, rights));
      console.log(`granted ${name} to ${user} (${rights})`);
    });

  addStoreOptions(share.command('revoke <name> <user>').description("take the share from USER")).action(
    async (name: string, user: string, flags: StoreFlags) => {
      const revoked = await withMetaStore(loadConfig(configSources(flags)), (meta) => meta.revokeShare(name, user));
      if (!revoked) throw new FsError('ENOENT', `${user} has no grant on ${name}`);
      console.log(`revoked ${name} from ${user}`);
    },
  );

  addStoreOptions(share.command('list').description('list shares: name, folder, grants')).action(async (flags: StoreFlags) => {
    const shares = await withMetaStore(loadConfig(configSources(flags)), (meta) => meta.listShares());
    for (const s of shares) console.log(describeShare(s));
    console.log(`shares: ${shares.length}`);
  });
}
