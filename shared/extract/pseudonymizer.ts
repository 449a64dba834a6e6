import { createHash, createHmac } from 'node:crypto';
import { PSEUDONYM_LENGTH } from '../contracts/tables';

export interface PseudonymWriter {
  /** Writes the hex pseudonym of `value` into `out` at `offset`; returns the bytes written (PSEUDONYM_LENGTH). */
  pseudonymInto(value: string, out: Buffer, offset: number): number;
}

/** SHA-256's round constants (FIPS 180-4 §4.2.2) and initial state (§5.3.3), as signed 32-bit words. */
const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
  0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
  0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
  0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/**
 * SHA-256's compression function (FIPS 180-4 §6.2.2): `to` = `from` updated by the 16 big-endian
 * words in `w[0..15]` (`w[16..63]` is the schedule's scratch; `to` may be `from`). Int32 arithmetic
 * (`| 0`) keeps V8 on machine integers; the 64 rounds are unrolled by 8 so the eight working
 * variables rotate by name instead of by seven moves a round (0.38 against 0.48 µs per block here).
 */
function compress(from: Int32Array, w: Int32Array, to: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!;
    const y = w[i - 2]!;
    w[i] = ((((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)) + w[i - 7]! + (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) + w[i - 16]!) | 0;
  }
  let a = from[0]! | 0;
  let b = from[1]! | 0;
  let c = from[2]! | 0;
  let d = from[3]! | 0;
  let e = from[4]! | 0;
  let f = from[5]! | 0;
  let g = from[6]! | 0;
  let h = from[7]! | 0;
  for (let i = 0; i < 64; i += 8) {
    // Round i: T1 = h + Σ1(e) + Ch(e,f,g) + K[i] + W[i] → d += T1; h = T1 + Σ0(a) + Maj(a,b,c). The next round renames.
    h = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[i]! + w[i]!) | 0;
    d = (d + h) | 0;
    h = (h + (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) | (c & (a | b)))) | 0;
    g = (g + (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) + (f ^ (d & (e ^ f))) + K[i + 1]! + w[i + 1]!) | 0;
    c = (c + g) | 0;
    g = (g + (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) + ((h & a) | (b & (h | a)))) | 0;
    f = (f + (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) + (e ^ (c & (d ^ e))) + K[i + 2]! + w[i + 2]!) | 0;
    b = (b + f) | 0;
    f = (f + (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) + ((g & h) | (a & (g | h)))) | 0;
    e = (e + (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) + (d ^ (b & (c ^ d))) + K[i + 3]! + w[i + 3]!) | 0;
    a = (a + e) | 0;
    e = (e + (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) + ((f & g) | (h & (f | g)))) | 0;
    d = (d + (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) + (c ^ (a & (b ^ c))) + K[i + 4]! + w[i + 4]!) | 0;
    h = (h + d) | 0;
    d = (d + (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) + ((e & f) | (g & (e | f)))) | 0;
    c = (c + (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) + (b ^ (h & (a ^ b))) + K[i + 5]! + w[i + 5]!) | 0;
    g = (g + c) | 0;
    c = (c + (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) + ((d & e) | (f & (d | e)))) | 0;
    b = (b + (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) + (a ^ (g & (h ^ a))) + K[i + 6]! + w[i + 6]!) | 0;
    f = (f + b) | 0;
    b = (b + (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) + ((c & d) | (e & (c | d)))) | 0;
    a = (a + (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) + (h ^ (f & (g ^ h))) + K[i + 7]! + w[i + 7]!) | 0;
    e = (e + a) | 0;
    a = (a + (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) + ((b & c) | (d & (b | c)))) | 0;
  }
  to[0] = (from[0]! + a) | 0;
  to[1] = (from[1]! + b) | 0;
  to[2] = (from[2]! + c) | 0;
  to[3] = (from[3]! + d) | 0;
  to[4] = (from[4]! + e) | 0;
  to[5] = (from[5]! + f) | 0;
  to[6] = (from[6]! + g) | 0;
  to[7] = (from[7]! + h) | 0;
}

const BLOCK = 64;
/** A value of at most this many UTF-8 bytes fits one block with its padding (0x80 and the 8-byte length). */
const ONE_BLOCK = 55;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** Entries of one cache generation by default (the benchmark's report reads it too). */
export const PSEUDONYM_CACHE_ENTRIES = 50_000;

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
 * Speed: RFC 2104 done by hand in JavaScript (checked against createHmac in tests). The key's two
 * blocks, `K ⊕ ipad` and `K ⊕ opad`, are compressed once in the constructor; a value then costs two
 * SHA-256 compressions (its own block, padded, from the ipad state; the inner digest's block from the
 * opad state) instead of four, with no native call, no allocation, and the first 16 digest bytes
 * written as hex straight into the caller's buffer. A CPF or CNS (≤ 55 ASCII bytes: one block) is
 * read into the message words with `charCodeAt`; a longer or non-ASCII value is UTF-8 encoded and
 * runs through the same compression block by block. Measured per value on the benchmark's 1.9 M
 * CNS/CPF values (docs/benchmarks.md, "The pseudonymizer's own HMAC", 2026-12-06): the previous two
 * one-shot `crypto.hash` calls 1.31 µs (the two native calls and their string results dominate;
 * OpenSSL's compression itself is cheap), this 1.02 µs; @noble/hashes 2.4.0's hmac with cloned pad
 * states 3.39 µs (a Hash object per clone, input checks, a Uint8Array digest and its hex per call),
 * so the project keeps its own compression rather than a dependency that is slower; createHmac 2.69
 * µs, `Hash.copy()` of pre-hashed pad states ~4 µs.
 *
 * Recent values are cached — the same citizen recurs in every one of their consultations. The cache
 * is bounded so memory does not grow with table size, and it steps aside when it does not pay: a
 * miss costs a lookup, an insert and garbage collection on top of the hash, so a cache generation
 * that answers fewer than half of its lookups is followed by ten generations' worth of values hashed
 * directly (a table of mostly distinct values, e.g. tb_fat_cidadao_pec), then it tries again. It was
 * re-measured against no cache once the hash got cheaper: a hit (~0.2 µs) still costs a fifth of a
 * hash, so at the hit rates of tb_fat_proced_atend_proced and tb_fat_visita_domiciliar (79–92 %) the
 * cache takes a value from 1.0 µs to 0.45–0.77 µs, while below half hits it steps aside and costs
 * 0–11 % more than no cache — so it stays.
 *
 * Memory: the cache maps a value to a slot of one preallocated buffer holding the 32 hex bytes, and
 * `pseudonymInto` copies them straight into the caller's output. So an entry is a key string and a
 * small integer on the V8 heap instead of a key and a 32-character string, and a dropped generation
 * leaves a third of the garbage — this cache was most of the extractor's peak RSS above the no-PII
 * run (docs/benchmarks.md). The slab is cacheLimit × 32 bytes (1.6 MB at the default).
 */
export class Pseudonymizer implements PseudonymWriter {
  /** SHA-256 state after the block `K ⊕ ipad`, and after `K ⊕ opad`. */
  private readonly innerState = new Int32Array(8);
  private readonly outerState = new Int32Array(8);
  /** The message schedule (the block's 16 words, then the 48 derived ones) and a running state. */
  private readonly w = new Int32Array(64);
  private readonly state = new Int32Array(8);
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
    private readonly cacheLimit = PSEUDONYM_CACHE_ENTRIES,
  ) {
    if (key.length < 32) throw new Error('pseudonymisation key must be at least 32 bytes');
    if (!Number.isInteger(cacheLimit) || cacheLimit < 1) throw new Error('pseudonym cache limit must be a positive integer');
    this.slab = Buffer.allocUnsafe(cacheLimit * PSEUDONYM_LENGTH);
    const block = Buffer.alloc(BLOCK);
    (key.length > BLOCK ? createHash('sha256').update(key).digest() : key).copy(block);
    const w = this.w;
    for (let i = 0; i < 16; i++) w[i] = block.readInt32BE(4 * i) ^ 0x36363636;
    compress(IV, w, this.innerState);
    for (let i = 0; i < 16; i++) w[i] = block.readInt32BE(4 * i) ^ 0x5c5c5c5c;
    compress(IV, w, this.outerState);
  }

  pseudonym(value: string): string {
    this.pseudonymInto(value, this.text, 0);
    return this.text.toString('latin1', 0, PSEUDONYM_LENGTH);
  }

  pseudonymInto(value: string, out: Buffer, offset: number): number {
    const normalized = value.trim();
    if (this.bypass > 0) {
      this.bypass--;
      return this.hmacInto(normalized, out, offset);
    }
    const slot = this.cache.get(normalized);
    if (slot !== undefined) {
      this.hits++;
      return this.slab.copy(out, offset, slot * PSEUDONYM_LENGTH, (slot + 1) * PSEUDONYM_LENGTH);
    }
    this.hmacInto(normalized, out, offset);
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

  /** HMAC(key, normalized)'s first 16 bytes as hex into `out` at `offset`. */
  private hmacInto(normalized: string, out: Buffer, offset: number): number {
    const w = this.w;
    const n = normalized.length;
    let ascii = n <= ONE_BLOCK;
    if (ascii) {
      w.fill(0, 0, 16);
      for (let i = 0; i < n; i++) {
        const c = normalized.charCodeAt(i);
        if (c > 0x7f) {
          ascii = false;
          break;
        }
        w[i >> 2]! |= c << (24 - ((i & 3) << 3));
      }
    }
    if (ascii) {
      w[n >> 2]! |= 0x80 << (24 - ((n & 3) << 3));
      w[15] = (BLOCK + n) * 8;
      compress(this.innerState, w, this.state);
    } else this.innerBlocks(Buffer.from(normalized, 'utf8'));
    // The outer message is the 32-byte inner digest, padded: 0x80, zeros, its bit length (64 + 32) × 8.
    const s = this.state;
    for (let i = 0; i < 8; i++) w[i] = s[i]!;
    w[8] = 0x80000000;
    w.fill(0, 9, 15);
    w[15] = (BLOCK + 32) * 8;
    compress(this.outerState, w, s);
    // The truncation: the first 4 words (16 bytes), each as 8 hex digits, most significant first.
    for (let j = 0; j < 4; j++) {
      const x = s[j]!;
      const at = offset + 8 * j;
      for (let k = 0; k < 8; k++) out[at + k] = HEX[(x >>> (28 - 4 * k)) & 15]!;
    }
    return PSEUDONYM_LENGTH;
  }

  /** The inner hash of any value, block by block from the ipad state, into `state`. */
  private innerBlocks(bytes: Buffer): void {
    const w = this.w;
    const s = this.state;
    s.set(this.innerState);
    const n = bytes.length;
    let p = 0;
    for (; n - p >= BLOCK; p += BLOCK) {
      for (let i = 0; i < 16; i++) w[i] = bytes.readInt32BE(p + 4 * i);
      compress(s, w, s);
    }
    // The last 0–63 bytes, 0x80, zeros and the 64-bit bit length — in one block or, past 55 bytes, two.
    const r = n - p;
    w.fill(0, 0, 16);
    for (let i = 0; i < r; i++) w[i >> 2]! |= bytes[p + i]! << (24 - ((i & 3) << 3));
    w[r >> 2]! |= 0x80 << (24 - ((r & 3) << 3));
    if (r > ONE_BLOCK) {
      compress(s, w, s);
      w.fill(0, 0, 16);
    }
    const bits = (BLOCK + n) * 8;
    w[14] = bits / 0x100000000; // the high word: non-zero only past 512 MiB (Int32Array truncates)
    w[15] = bits | 0;
    compress(s, w, s);
  }

  /** Reference implementation (node:crypto's HMAC, truncated), for tests and checks of landed data. */
  static reference(key: Buffer, value: string): string {
    return createHmac('sha256', key).update(value.trim(), 'utf8').digest('hex').slice(0, PSEUDONYM_LENGTH);
  }
}
