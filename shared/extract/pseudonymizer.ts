import { createHash, createHmac, type Hash } from 'node:crypto';

/**
 * Keyed pseudonyms for personal identifiers: HMAC-SHA-256(key, trimmed value) as hex.
 * One key for every table and municipality, so the same CPF gives the same pseudonym
 * everywhere and joins still work; without the key (kept in Secret Manager) a pseudonym
 * cannot be tied back to a person (LGPD art. 13 §4).
 *
 * Speed: the HMAC inner/outer pads are hashed once and their SHA-256 states copied per value
 * (RFC 2104 done by hand, checked against createHmac in tests), and recent values are cached —
 * the same citizen recurs in every one of their consultations. The cache is bounded so memory
 * does not grow with table size.
 */
export class Pseudonymizer {
  private readonly inner: Hash;
  private readonly outer: Hash;
  private cache = new Map<string, string>();

  constructor(key: Buffer, private readonly cacheLimit = 100_000) {
    if (key.length < 32) throw new Error('pseudonymisation key must be at least 32 bytes');
    const block = 64;
    const k = key.length > block ? createHash('sha256').update(key).digest() : key;
    const ipad = Buffer.alloc(block, 0x36);
    const opad = Buffer.alloc(block, 0x5c);
    for (let i = 0; i < k.length; i++) {
      ipad[i]! ^= k[i]!;
      opad[i]! ^= k[i]!;
    }
    this.inner = createHash('sha256').update(ipad);
    this.outer = createHash('sha256').update(opad);
  }

  pseudonym(value: string): string {
    const normalized = value.trim();
    const hit = this.cache.get(normalized);
    if (hit !== undefined) return hit;
    const innerDigest = this.inner.copy().update(normalized, 'utf8').digest();
    const result = this.outer.copy().update(innerDigest).digest('hex');
    if (this.cache.size >= this.cacheLimit) this.cache = new Map(); // cheap bounded reset
    this.cache.set(normalized, result);
    return result;
  }

  /** Reference implementation, for tests. */
  static reference(key: Buffer, value: string): string {
    return createHmac('sha256', key).update(value.trim(), 'utf8').digest('hex');
  }
}
