// `davfs-bridge user add|passwd|rm|list`: the users who may log in, kept in the metadata store
// (safe beside a running server: users are database rows). Passwords come from stdin or are
// generated and printed once; only their scrypt hash is stored, and no secret is ever logged.
import type { Command } from 'commander';
import { digestHa1, hashPassword, randomPassword } from '../auth/password.js';
import { checkUserName } from '../auth/user-name.js';
import { loadConfig, type Config } from '../config/config.js';
import { formatSize, parseSize } from '../config/size.js';
import { FsError } from '../core/errors.js';
import { normalizePath } from '../core/paths.js';
import type { UserRow } from '../meta/meta-store.js';
import { withMetaStore } from './open-stores.js';
import { readPasswordFromStdin } from './read-secret.js';
import { addStoreOptions, configSources, type StoreFlags } from './serve.js';

interface AddFlags extends StoreFlags {
  passwordStdin?: boolean;
  home?: string;
  quota?: string;
  readOnly?: boolean;
}

/** The password to set: from stdin, or a generated one that the caller prints once. */
async function obtainPassword(fromStdin: boolean): Promise<{ password: string; generated: boolean }> {
  return fromStdin ? { password: await readPasswordFromStdin(), generated: false } : { password: randomPassword(), generated: true };
}

function parseQuota(text: string | undefined): number | null {
  if (text === undefined) return null;
  try {
    return parseSize(text);
  } catch (err) {
    throw new FsError('EINVAL', `--quota: ${(err as Error).message}`);
  }
}

/** One line of `user list`: everything but the password hash. */
export function describeUser(u: UserRow): string {
  const quota = u.quotaBytes === null ? 'no quota' : `quota ${formatSize(u.quotaBytes)}`;
  return `${u.name}\t${u.home}\t${quota}\t${u.readOnly ? 'read-only' : 'read-write'}`;
}

/** The Digest secret to store beside the hash, only while Digest is on (config/default.yaml auth.digest explains why). */
function digestSecret(config: Config, name: string, password: string): string | null {
  return config.auth.digest ? digestHa1(name, config.auth.realm, password) : null;
}

function printGenerated(name: string, password: string): void {
  // stdout only, never a log: this is the one time the password exists outside the user's head.
  console.log(`password for ${name} (shown once; only its hash is stored): ${password}`);
}

export function registerUser(program: Command): void {
  const user = program.command('user').description('users who may log in (kept in the metadata store)');

  addStoreOptions(user.command('add <name>').description('add a user; without --password-stdin a random password is generated and printed once'))
    .option('--password-stdin', 'read the password from standard input')
    .option('--home <path>', "the user's root folder in the store (default /home/NAME)")
    .option('--quota <size>', 'limit on the bytes stored under the home, e.g. 10GiB (default: none)')
    .option('--read-only', 'the user may read but not change anything')
    .action(async (rawName: string, flags: AddFlags) => {
      const name = checkUserName(rawName);
      const home = normalizePath(flags.home ?? `/home/${name}`);
      const quotaBytes = parseQuota(flags.quota);
      const { password, generated } = await obtainPassword(flags.passwordStdin === true);
      const passwordHash = await hashPassword(password);
      const config = loadConfig(configSources(flags));
      const created = await withMetaStore(config, (meta) =>
        meta.createUser({ name, passwordHash, digestHa1: digestSecret(config, name, password), home, quotaBytes, readOnly: flags.readOnly === true, createdMs: Date.now() }),
      );
      console.log(`user added: ${describeUser(created)}`);
      if (generated) printGenerated(name, password);
    });

  addStoreOptions(user.command('passwd <name>').description("set a user's password; without --password-stdin a random one is generated and printed once"))
    .option('--password-stdin', 'read the new password from standard input')
    .action(async (name: string, flags: AddFlags) => {
      const config = loadConfig(configSources(flags));
      await withMetaStore(config, async (meta) => {
        // Check first, so a typo in the name does not cost a password read and a hash.
        if (!(await meta.getUser(name))) throw new FsError('ENOENT', `no user "${name}"`);
        const { password, generated } = await obtainPassword(flags.passwordStdin === true);
        await meta.setPassword(name, await hashPassword(password), digestSecret(config, name, password));
        console.log(`password of ${name} changed`);
        if (generated) printGenerated(name, password);
      });
    });

  addStoreOptions(user.command('rm <name>').description('remove a user and their tokens (their files stay)')).action(async (name: string, flags: StoreFlags) => {
    await withMetaStore(loadConfig(configSources(flags)), (meta) => meta.deleteUser(name));
    console.log(`user removed: ${name}`);
  });

  addStoreOptions(user.command('list').description('list users: name, home, quota, read-only (never hashes)')).action(async (flags: StoreFlags) => {
    const users = await withMetaStore(loadConfig(configSources(flags)), (meta) => meta.listUsers());
    for (const u of users) console.log(describeUser(u));
    console.log(`users: ${users.length}`);
  });
}
