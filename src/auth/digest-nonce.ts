// Digest nonces (RFC 7616 §3.3, §5.4) without server state: a nonce is its issue time and an HMAC
// of it under a key every node shares (kept in the metadata store's settings), so any node can
// check a nonce another issued. Past `maxAgeMs` a nonce is stale: the client gets a new challenge
// with stale=true and retries with the same credentials, without asking the user again.
// Replays within the nonce's life are not detected (that needs per-nonce counters shared by all
// nodes); TLS is the answer to an attacker on the wire.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type NonceCheck = 'valid' | 'stale' | 'invalid';

export class DigestNonces {
  constructor(
    private readonly key: Buffer,
    private readonly maxAgeMs: number = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  issue(): string {
    const t = this.now().toString(36);
    return `${t}.${this.mac(t)}`;
  }

  check(nonce: string): NonceCheck {
    const dot = nonce.indexOf('.');
    if (dot <= 0) return 'invalid';
    const t = nonce.slice(0, dot);
    const given = Buffer.from(nonce.slice(dot + 1));
    const expected = Buffer.from(this.mac(t));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    const age = this.now() - parseInt(t, 36);
    return age >= 0 && age <= this.maxAgeMs ? 'valid' : 'stale';
  }

  private mac(t: string): string {
    return createHmac('sha256', this.key).update(t).digest('base64url');
  }
}
