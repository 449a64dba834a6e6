import { createHash, createHmac, hash } from 'node:crypto';
import { PSEUDONYM_LENGTH } from '../contracts/tables';

/**
 * Keyed pseudonyms for personal identifiers: HMAC-SHA-256(key, trimmed value) truncated to its first
 * 128 bits (16 bytes), written as 32 lower-case hex characters. One key for every table and municipality, so the same CPF gives the same pseudonym
 * everywhere and joins still work; without the key (kept in Secret Manager) a pseudonym
 * cannot be tied back to a person (LGPD art. 13 §4).
 *
 * Why 128 bits: collisions. Two different identifiers would share a pseudonym with probability
 * about n² / 2¹²⁹ (birthday bound); for n = 500 million distinct values in one column (Brazil has
 * ~215 M people, some with several CNS) that is ~4 × 10⁻²², and the keyed HMAC keeps its strength
 * (RFC 2104 §5 allows truncation to at least half the hash length). Why fewer bytes at all: the full
 * 64-character hex digest made the staged CSV ~90 bytes per row longer than PostgreSQL's and random
 * hex barely compresses, so gzip was ~40 % of the extractor's CPU (docs/benchmarks.md).
 * Why hex and not base64url (22 characters): Power BI's model (VertiPaq) and DAX compare text
 * case-insensitively — "aB" and "Ab" load as one value, and a relationship's one side rejects them as
 * duplicates — as do Excel lookups; a pseudonym must not depend on the tool's collation. Lower-case hex
 * has no case, and every tool can recompute it (`hexdigest()[:32]`, `openssl … | cut -c1-32`). It costs
 * 10 raw bytes per value more than base64url but gzip stages the same bytes (16 random bytes either
 * way): measured 0.4 µs of gzip CPU per row with two hashed columns (docs/benchmarks.md).
 *
 * Speed: RFC 2104 done by hand (checked against createHmac in tests) with the one-shot
 * `crypto.hash` over two preallocated blocks, `(K ⊕ ipad) ‖ value` and `(K ⊕ opad) ‖ inner`:
 * no Hash object and no Buffer is created per value. (Copying pre-hashed pad states with
 * `Hash.copy()` cost ~4 µs per value, this ~1 µs; with two hashed columns per row it bounded the
 * extractor at ~40 k rows/s — see docs/benchmarks.md.) Recent values are cached — the same
 * citizen recurs in every one of their consultations. The cache is bounded so memory does not
 * grow with table size, and it steps aside when it does not pay: a miss costs a lookup, an insert
 * and garbage collection on top of the hash (about twice a bare hash), so a cache generation that
 * answers fewer than half of its lookups is followed by ten generations' worth of values hashed
 * directly (a table of mostly distinct values, e.g. tb_fat_cidadao_pec), then it tries again.
 *
 * Memory: the cache maps a value to a slot of one preallocated buffer holding the 32 hex bytes, and
 * `pseudonymInto` copies them straight into the caller's output. So an entry is a key string and a
 * small integer on the V8 heap instead of a key and a 32-character string, and a dropped generation
 * leaves a third of the garbage — this cache was most of the extractor's peak RSS above the no-PII
 * run (docs/benchmarks.md). The slab is cacheLimit × 32 bytes (1.6 MB at the default).
 */
export interface PseudonymWriter {
  /** Writes the hex pseudonym of `value` into `out` at `offset`; returns the bytes written (PSEUDONYM_LENGTH). */
  pseudonymInto(value: string, out: Buffer, offset: number): number;
}

const BLOCK = 64;
/** Values up to this many UTF-16 code units (≤ 3 UTF-8 bytes each) are hashed in the scratch block. */
const SHORT = 64;

export class Pseudonymizer implements PseudonymWriter {
  /** `K ⊕ ipad` followed by room for a short value. */
  private readonly inner = Buffer.alloc(BLOCK + 3 * SHORT, 0x36);
  /** Views of `inner` by value length: a view is reused instead of a subarray per value. */
  private readonly innerViews: Buffer[] = [];
  /** `K ⊕ opad` followed by the inner digest. */
  private readonly outer = Buffer.alloc(BLOCK + 32, 0x5c);
  /** Value → slot of `slab` holding its pseudonym. */
  private cache = new Map<string, number>();
  private readonly slab: Buffer;
  /** Scratch for the string API. */
  private readonly text = Buffer.alloc(PSEUDONYM_LENGTH);
  /** Lookups the current cache generation answered. */
  private hits = 0;
  /** Values still to hash without the cache (it was not paying for itself). */
  private bypass = 0;

  constructor(
    key: Buffer,
    private readonly cacheLimit = 50_000,
  ) {
    if (key.length < 32) throw new Error('pseudonymisation key must be at least 32 bytes');
    if (!Number.isInteger(cacheLimit) || cacheLimit < 1) throw new Error('pseudonym cache limit must be a positive integer');
    this.slab = Buffer.allocUnsafe(cacheLimit * PSEUDONYM_LENGTH);
    const k = key.length > BLOCK ? createHash('sha256').update(key).digest() : key;
    for (let i = 0; i < k.length; i++) {
      this.inner[i]! ^= k[i]!;
      this.outer[i]! ^= k[i]!;
    }
  }

  pseudonym(value: string): string {
    this.pseudonymInto(value, this.text, 0);
    return this.text.toString('latin1', 0, PSEUDONYM_LENGTH);
  }

  pseudonymInto(value: string, out: Buffer, offset: number): number {
    const normalized = value.trim();
    if (this.bypass > 0) {
      this.bypass--;
      return out.write(this.hmacHex(normalized), offset, PSEUDONYM_LENGTH, 'latin1');
    }
    const slot = this.cache.get(normalized);
    if (slot !== undefined) {
      this.hits++;
      return this.slab.copy(out, offset, slot * PSEUDONYM_LENGTH, (slot + 1) * PSEUDONYM_LENGTH);
    }
    out.write(this.hmacHex(normalized), offset, PSEUDONYM_LENGTH, 'latin1');
    if (this.cache.size >= this.cacheLimit) {
      // A full generation: every entry is one miss. Fewer hits than misses → hash directly for a while.
      if (this.hits < this.cache.size) this.bypass = 10 * this.cacheLimit;
      this.cache = new Map(); // cheap bounded reset; the slab's slots are reused from 0
      this.hits = 0;
    }
    if (this.bypass === 0) {
      const next = this.cache.size;
      out.copy(this.slab, next * PSEUDONYM_LENGTH, offset, offset + PSEUDONYM_LENGTH);
      this.cache.set(normalized, next);
    }
    return PSEUDONYM_LENGTH;
  }

  private hmacHex(normalized: string): string {
    let innerData: Buffer;
    if (normalized.length <= SHORT) {
      const n = this.inner.write(normalized, BLOCK, 'utf8');
      innerData = this.innerViews[n] ??= this.inner.subarray(0, BLOCK + n);
    } else {
      innerData = Buffer.concat([this.inner.subarray(0, BLOCK), Buffer.from(normalized, 'utf8')]);
    }
    // 'binary' (latin1) carries the 32 digest bytes as a one-byte string: much cheaper than a Buffer result.
    this.outer.write(hash('sha256', innerData, 'binary'), BLOCK, 'binary');
    // The full 64-character hex string; callers write only its first PSEUDONYM_LENGTH characters (the
    // truncation): 0.6–0.8 µs per call, against 1.7–1.9 µs for a Buffer digest hex-encoded in part and
    // 0.8 µs for a 'binary' digest copied to a scratch buffer and hex-encoded from there (2026-12-06).
    return hash('sha256', this.outer, 'hex');
  }

  /** Reference implementation (node:crypto's HMAC, truncated), for tests and checks of landed data. */
  static reference(key: Buffer, value: string): string {
    return createHmac('sha256', key).update(value.trim(), 'utf8').digest('hex').slice(0, PSEUDONYM_LENGTH);
  }
}
