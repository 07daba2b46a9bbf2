// What `serve` puts in front of the tree: authentication (with the first start's admin), login
// throttling, Digest when enabled, and TLS. Returns the lines to print at start: the admin's
// one-time password, the certificate fingerprint, and warnings about an exposed server.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Authenticator } from '../auth/authenticator.js';
import { DigestNonces } from '../auth/digest-nonce.js';
import { FIRST_ADMIN, ensureFirstAdmin } from '../auth/first-admin.js';
import { LoginThrottle } from '../auth/login-throttle.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../core/log.js';
import type { AuthSettings } from '../http/authenticate.js';
import { loadTls, type TlsMaterial } from '../http/tls.js';
import type { MetaStore } from '../meta/meta-store.js';

export interface ServerSecurity {
  auth: AuthSettings | undefined;
  tls: TlsMaterial | undefined;
  banner: string[];
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

export async function serverSecurity(config: Config, meta: MetaStore, log: Logger): Promise<ServerSecurity> {
  const banner: string[] = [];
  const tls = await loadTls({ cert: config.tls.cert, key: config.tls.key, selfSignedDir: config.tls.selfSigned ? join(config.data, 'tls') : undefined });
  if (tls) banner.push(`TLS certificate${tls.selfSigned ? ' (self-signed)' : ''} SHA-256 fingerprint: ${tls.fingerprint}`);
  const exposed = !LOOPBACK.test(config.listen.host);
  if (!config.auth.enabled) {
    log.warn({ listen: config.listen }, 'authentication is off: anyone who reaches this port can read and change every file');
    return { auth: undefined, tls, banner };
  }
  if (exposed && !tls) log.warn({ listen: config.listen }, 'listening beyond this machine without TLS: passwords cross the network in clear text (use --tls-cert/--tls-key or --tls-self-signed)');
  const digestRealm = config.auth.digest ? config.auth.realm : undefined;
  const password = await ensureFirstAdmin(meta, digestRealm);
  // stdout, never a log: the one time this password exists outside the operator's head.
  if (password !== undefined) banner.push(`created user ${FIRST_ADMIN} (home /); password, shown once (only its hash is stored): ${password}`);
  // Every node must check the nonces of the others: the key is in the shared database.
  const nonceKey = config.auth.digest ? Buffer.from(await meta.initSetting('digest_nonce_key', randomBytes(32).toString('base64')), 'base64') : undefined;
  const auth: AuthSettings = {
    auth: new Authenticator(meta),
    throttle: new LoginThrottle({ maxFailures: config.auth.maxFailures, windowS: config.auth.failureWindowMs / 1000, blockS: config.auth.blockMs / 1000 }),
    realm: config.auth.realm,
    nonces: nonceKey && new DigestNonces(nonceKey),
    log,
  };
  return { auth, tls, banner };
}
