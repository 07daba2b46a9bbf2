// TLS for the listener: a certificate and key from files (--tls-cert/--tls-key), or a self-signed
// pair for quick starts (the `selfsigned` package), made once and kept under the data folder so its
// fingerprint — which clients are asked to trust — stays the same across restarts.
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { FsError } from '../core/errors.js';

export interface TlsMaterial {
  key: string;
  cert: string;
  /** SHA-256 fingerprint of the certificate, as browsers and `openssl x509 -fingerprint -sha256` show it. */
  fingerprint: string;
  selfSigned: boolean;
}

export async function loadTls(opts: { cert: string; key: string; selfSignedDir: string | undefined }): Promise<TlsMaterial | undefined> {
  if (opts.cert || opts.key) {
    if (!opts.cert || !opts.key) throw new FsError('EINVAL', 'TLS needs both a certificate (--tls-cert) and its key (--tls-key)');
    const [cert, key] = await Promise.all([readPem(opts.cert, 'certificate'), readPem(opts.key, 'key')]);
    return { cert, key, fingerprint: fingerprintOf(cert), selfSigned: false };
  }
  if (opts.selfSignedDir === undefined) return undefined;
  const certFile = join(opts.selfSignedDir, 'self-signed-cert.pem');
  const keyFile = join(opts.selfSignedDir, 'self-signed-key.pem');
  try {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    return { cert, key, fingerprint: fingerprintOf(cert), selfSigned: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const pems = await generate([{ name: 'commonName', value: hostname() }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 825 * 24 * 3600_000), // the longest validity Apple's clients accept
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: hostname() }, { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  await mkdir(opts.selfSignedDir, { recursive: true, mode: 0o700 });
  await writeFile(keyFile, pems.private, { mode: 0o600 });
  await writeFile(certFile, pems.cert, { mode: 0o644 });
  return { cert: pems.cert, key: pems.private, fingerprint: fingerprintOf(pems.cert), selfSigned: true };
}

function fingerprintOf(cert: string): string {
  try {
    return new X509Certificate(cert).fingerprint256;
  } catch (err) {
    throw new FsError('EINVAL', `not a PEM certificate: ${(err as Error).message}`);
  }
}

async function readPem(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new FsError('EINVAL', `cannot read the TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
