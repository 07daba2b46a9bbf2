// `davfs-bridge token create|list|revoke`: bearer tokens for scripts, each acting as one user.
// A token is printed once at creation; the store keeps only its SHA-256 (auth/password.ts), whose
// first 12 hex characters are the token's public id, shown by `token list`.
//
// `token revoke NAME TOKEN-OR-ID...` takes, for each token, either the token itself (`dvb_…`) or
// its id — at least 8 leading hex characters of its hash, matching exactly one of NAME's tokens.
// Every argument is resolved before anything is revoked, so a typo revokes nothing.
import type { Command } from 'commander';
import { TOKEN_PREFIX, hashToken, newToken, tokenId } from '../auth/password.js';
import { loadConfig } from '../config/config.js';
import { FsError } from '../core/errors.js';
import type { TokenRow } from '../meta/meta-store.js';
import { withMetaStore } from './open-stores.js';
import { addStoreOptions, configSources, type StoreFlags } from './serve.js';

interface CreateFlags extends StoreFlags {
  label?: string;
}

const MAX_LABEL_LENGTH = 255;
const MIN_ID_LENGTH = 8;

/** The hashes that `args` name among `tokens`; FsError for an argument naming none or several. */
export function resolveTokens(userName: string, tokens: TokenRow[], args: string[]): string[] {
  return args.map((arg) => {
    if (arg.startsWith(TOKEN_PREFIX)) {
      const hash = hashToken(arg);
      if (!tokens.some((t) => t.tokenHash === hash)) throw new FsError('ENOENT', `${userName} has no such token`);
      return hash;
    }
    const id = arg.toLowerCase();
    if (!/^[0-9a-f]+$/.test(id) || id.length < MIN_ID_LENGTH) {
      throw new FsError('EINVAL', `"${arg}" is neither a token (${TOKEN_PREFIX}…) nor a token id (${MIN_ID_LENGTH}+ hex characters, see token list)`);
    }
    const matches = tokens.filter((t) => t.tokenHash.startsWith(id));
    if (matches.length === 0) throw new FsError('ENOENT', `${userName} has no token with id ${id}`);
    if (matches.length > 1) throw new FsError('EINVAL', `token id ${id} is ambiguous: give more characters`);
    return matches[0]!.tokenHash;
  });
}

function describeToken(t: TokenRow): string {
  const used = t.lastUsedMs === null ? 'never used' : `last used ${new Date(t.lastUsedMs).toISOString()}`;
  return `${tokenId(t.tokenHash)}\t${t.label ?? '-'}\tcreated ${new Date(t.createdMs).toISOString()}\t${used}`;
}

export function registerToken(program: Command): void {
  const token = program.command('token').description("bearer tokens for scripts, each acting as one user");

  addStoreOptions(token.command('create <user>').description('create a token for a user and print it once'))
    .option('--label <text>', 'what the token is for, shown by token list')
    .action(async (userName: string, flags: CreateFlags) => {
      const label = flags.label ?? null;
      if (label !== null && [...label].length > MAX_LABEL_LENGTH) throw new FsError('EINVAL', `--label is longer than ${MAX_LABEL_LENGTH} characters`);
      const { token: secret, hash } = newToken();
      await withMetaStore(loadConfig(configSources(flags)), (meta) => meta.createToken(userName, hash, label, Date.now()));
      console.log(`token id ${tokenId(hash)} created for ${userName}`);
      // stdout only, never a log: the token exists nowhere else once this line is gone.
      console.log(`token (shown once; only its hash is stored): ${secret}`);
    });

  addStoreOptions(token.command('list <user>').description("list a user's tokens by id and label (never the tokens)")).action(
    async (userName: string, flags: StoreFlags) => {
      const tokens = await withMetaStore(loadConfig(configSources(flags)), (meta) => meta.listTokens(userName));
      for (const t of tokens) console.log(describeToken(t));
      console.log(`tokens: ${tokens.length}`);
    },
  );

  addStoreOptions(token.command('revoke <user> <tokens...>').description('revoke tokens, each given as the token itself or its id from token list')).action(
    async (userName: string, args: string[], flags: StoreFlags) => {
      await withMetaStore(loadConfig(configSources(flags)), async (meta) => {
        const hashes = resolveTokens(userName, await meta.listTokens(userName), args);
        for (const hash of new Set(hashes)) {
          await meta.revokeToken(userName, hash);
          console.log(`token revoked: ${tokenId(hash)}`);
        }
      });
    },
  );
}
