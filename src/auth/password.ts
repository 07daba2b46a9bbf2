// Secrets at rest: passwords as scrypt hashes that carry their parameters, bearer tokens as
// SHA-256 of 32 random bytes. Nothing here logs or returns a secret except to its creator.
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB and tens of milliseconds per hash), the OWASP
 * password-storage recommendation for scrypt. Raise N here; stored hashes keep their own.
 */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Bounds on parameters read back from a stored hash, so a corrupt row cannot ask for gigabytes. */
const LIMITS = { N: [2 ** 14, 2 ** 20], r: [1, 32], p: [1, 16], key: [16, 64] } as const;

/** Prefix of every token: recognisable in a leaked log or a secret scanner, and by `token revoke`. */
export const TOKEN_PREFIX = 'dvb_';
/** Hex characters of a token's hash that name it in listings (`token list`, `token revoke`). */
export const TOKEN_ID_LENGTH = 12;

function scryptAsync(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** scrypt needs 128·N·r bytes; Node's default maxmem (32 MiB) is exactly that at N=2^15, r=8, so too little. */
function optionsFor(N: number, r: number, p: number): ScryptOptions {
  return { N, r, p, maxmem: 256 * N * r };
}

/** `scrypt$N$r$p$saltB64$hashB64` of a password, with a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  const { N, r, p } = SCRYPT_PARAMS;
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password.normalize('NFC'), salt, KEY_BYTES, optionsFor(N, r, p));
  return ['scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join('$');
}

/**
 * True when `password` matches a hash made by hashPassword; false for a wrong password and for a
 * stored value that is malformed or has parameters out of bounds (never throws for those). The
 * comparison takes the same time wherever the bytes differ.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseStored(stored);
  if (!parsed) return false;
  const key = await scryptAsync(password.normalize('NFC'), parsed.salt, parsed.hash.length, optionsFor(parsed.N, parsed.r, parsed.p));
  return timingSafeEqual(key, parsed.hash);
}

function parseStored(stored: string): { N: number; r: number; p: number; salt: Buffer; hash: Buffer } | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map((x) => (/^\d{1,8}$/.test(x!) ? Number(x) : NaN)) as [number, number, number];
  const base64 = /^[A-Za-z0-9+/]+={0,2}$/;
  if (!base64.test(parts[4]!) || !base64.test(parts[5]!)) return undefined;
  const salt = Buffer.from(parts[4]!, 'base64');
  const hash = Buffer.from(parts[5]!, 'base64');
  const within = (v: number, [lo, hi]: readonly [number, number]) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!within(N, LIMITS.N) || (N & (N - 1)) !== 0 || !within(r, LIMITS.r) || !within(p, LIMITS.p)) return undefined;
  if (salt.length < 8 || !within(hash.length, LIMITS.key)) return undefined;
  return { N, r, p, salt, hash };
}

/**
 * A new bearer token and the hash to store. The token is 32 random bytes (256 bits): it cannot be
 * guessed or brute-forced, so a fast unsalted hash protects it as well as scrypt would, and lets a
 * request find its row by equality on an index instead of trying every user's slow hash.
 */
export function newToken(): { token: string; hash: string } {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

/** Hex SHA-256 of a token, as stored in `tokens.token_hash`. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The public id of a token: the start of its hash (reveals nothing about the token). */
export function tokenId(tokenHash: string): string {
  return tokenHash.slice(0, TOKEN_ID_LENGTH);
}

/**
 * A random password of 24 URL-safe characters (about 143 bits), for generated accounts. It never
 * starts with '-': command-line tools (litmus, davfs2's secrets, getopt-style arguments) would read
 * it as an option.
 */
export function randomPassword(): string {
  for (;;) {
    const password = randomBytes(18).toString('base64url');
    if (password[0] !== '-') return password;
  }
}

/**
 * The HTTP Digest secret HA1 = MD5(name:realm:password) (RFC 7616 §3.4.2, algorithm MD5, the one
 * Windows' WebClient and Finder speak). Stored only when Digest is enabled (config auth.digest).
 */
export function digestHa1(name: string, realm: string, password: string): string {
  return createHash('md5').update(`${name}:${realm}:${password}`, 'utf8').digest('hex');
}
