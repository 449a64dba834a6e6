import { createHmac } from 'node:crypto';
import { Pseudonymizer } from '../../shared/extract/pseudonymizer';

/**
 * The Pseudonymizer computes HMAC-SHA-256 by hand (its own SHA-256 compression over pre-hashed pad
 * states). Every pseudonym already landed depends on it giving node:crypto's bytes, so it is compared
 * with `Pseudonymizer.reference` (createHmac) over every length and block boundary, multi-byte text,
 * trimmed whitespace and several keys — through a fresh instance each time where the cache could
 * otherwise answer instead of the hash.
 */

// A deterministic generator (no Math.random: a failure must be reproducible).
function prng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    return (s >>> 8) / 2 ** 24;
  };
}

const bytes = (n: number, seed: number) => {
  const rnd = prng(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
};

const KEYS: [string, Buffer][] = [
  ['32 bytes of 7', Buffer.alloc(32, 7)],
  ['32 pseudo-random bytes', bytes(32, 1)],
  ['33 bytes', Buffer.from(Array.from({ length: 33 }, (_, i) => (i * 37 + 11) & 0xff))],
  ['64 bytes (one block, used as is)', Buffer.from(Array.from({ length: 64 }, (_, i) => 255 - i))],
  ['65 bytes (hashed first)', Buffer.from(Array.from({ length: 65 }, (_, i) => (i * 13) & 0xff))],
  ['200 pseudo-random bytes (hashed first)', bytes(200, 2)],
];

/** Every character class a value may hold: ASCII, 2-, 3- and 4-byte UTF-8 (a surrogate pair). */
const CHARS = ['0', '9', 'a', 'Z', ' ', '-', '"', ',', '\u007f', 'é', 'Ã', '\u00a0', '€', '中', '\u2003', '😀', '\u{10ffff}'];

/** Fresh instances answer from the hash, never from the cache. */
function both(key: Buffer, value: string): { string: string; into: string } {
  const out = Buffer.alloc(40, 0x2e);
  const n = new Pseudonymizer(key, 1).pseudonymInto(value, out, 5);
  expect(n).toBe(32);
  expect(out.toString('latin1', 0, 5) + out.toString('latin1', 37)).toBe('........');
  return { string: new Pseudonymizer(key, 1).pseudonym(value), into: out.toString('latin1', 5, 37) };
}

describe('Pseudonymizer: its own HMAC-SHA-256 equals createHmac', () => {
  it('pinned vectors (computed by openssl; a change here changes every landed pseudonym)', () => {
    // printf '%s' <value> | openssl dgst -sha256 -mac HMAC -macopt hexkey:0707…07 (32 bytes), first 32 hex digits
    const p = new Pseudonymizer(Buffer.alloc(32, 7));
    expect(p.pseudonym('12345678909')).toBe('f2efb254b64433d46264df137362bfa2');
    expect(p.pseudonym('')).toBe(createHmac('sha256', Buffer.alloc(32, 7)).digest('hex').slice(0, 32));
  });

  it.each(KEYS)('every ASCII length 0–200 bytes, block by block (key: %s)', (_name, key) => {
    const values = Array.from({ length: 201 }, (_, n) => Array.from({ length: n }, (_, i) => String.fromCharCode(0x21 + ((i * 7 + n) % 94))).join(''));
    const got = values.map((v) => both(key, v));
    expect(got.map((g) => g.string)).toEqual(values.map((v) => Pseudonymizer.reference(key, v)));
    expect(got.map((g) => g.into)).toEqual(values.map((v) => Pseudonymizer.reference(key, v)));
  });

  it('the padding edges: 55/56/63/64 bytes and the same one block later, ASCII and multi-byte', () => {
    const key = KEYS[1]![1];
    for (const n of [54, 55, 56, 57, 63, 64, 65, 118, 119, 120, 127, 128, 129]) {
      // ASCII, and the same byte length with a 2-byte character first, last or in the middle (the ASCII scan stops there).
      const variants = [
        '7'.repeat(n),
        `é${'7'.repeat(n - 2)}`,
        `${'7'.repeat(n - 2)}é`,
        `${'7'.repeat(Math.floor(n / 2) - 1)}é${'7'.repeat(n - Math.floor(n / 2) - 1)}`,
        `€${'1'.repeat(n - 3)}`,
        `😀${'1'.repeat(n - 4)}`,
      ];
      expect(variants.map((v) => Buffer.byteLength(v))).toEqual(variants.map(() => n));
      expect(variants.map((v) => new Pseudonymizer(key, 1).pseudonym(v))).toEqual(variants.map((v) => Pseudonymizer.reference(key, v)));
    }
  });

  it('multi-byte UTF-8 and lone surrogates hash their UTF-8 bytes, as createHmac does', () => {
    const key = KEYS[0]![1];
    const values = ['é', 'JOÃO DA SILVA', 'Conceição', '€'.repeat(18), '€'.repeat(19), '中文名字', '😀', '😀'.repeat(14), '\ud800', 'a\udfffb', 'ÿ'.repeat(28)];
    expect(values.map((v) => new Pseudonymizer(key, 1).pseudonym(v))).toEqual(values.map((v) => Pseudonymizer.reference(key, v)));
  });

  it('trims surrounding whitespace (String.prototype.trim, Unicode spaces too) and keeps inner whitespace', () => {
    const key = KEYS[0]![1];
    const p = new Pseudonymizer(key);
    const core = Pseudonymizer.reference(key, '12345678909');
    for (const v of [' 12345678909', '12345678909 ', '\t12345678909\r\n', '\u00a012345678909\u2003', '\ufeff12345678909']) {
      expect(new Pseudonymizer(key).pseudonym(v)).toBe(core);
      expect(p.pseudonym(v)).toBe(core);
    }
    expect(p.pseudonym('123 45678909')).toBe(createHmac('sha256', key).update('123 45678909').digest('hex').slice(0, 32));
    expect(p.pseudonym('123 45678909')).not.toBe(core);
    expect(p.pseudonym('   ')).toBe(Pseudonymizer.reference(key, ''));
  });

  it.each(KEYS)('300 random values of random length and characters, one instance in sequence and fresh ones (key: %s)', (_name, key) => {
    // One long-lived instance (its scratch words reused from value to value, cache limit 1 so it hashes
    // nearly every time) and a fresh instance per value must both give the reference.
    const rnd = prng(key.length * 7919 + key[0]!);
    const values: string[] = [];
    for (let i = 0; i < 300; i++) {
      const len = Math.floor(rnd() * (rnd() < 0.8 ? 20 : 90));
      let v = '';
      for (let j = 0; j < len; j++) v += rnd() < 0.85 ? String.fromCharCode(0x30 + Math.floor(rnd() * 10)) : CHARS[Math.floor(rnd() * CHARS.length)]!;
      values.push(v);
    }
    const want = values.map((v) => Pseudonymizer.reference(key, v));
    const p = new Pseudonymizer(key, 1);
    const out = Buffer.alloc(32 * values.length);
    values.forEach((v, i) => p.pseudonymInto(v, out, 32 * i));
    expect(values.map((v) => p.pseudonym(v))).toEqual(want);
    expect(values.map((_, i) => out.toString('latin1', 32 * i, 32 * i + 32))).toEqual(want);
    const fresh = values.filter((_, i) => i % 5 === 0);
    expect(fresh.map((v) => new Pseudonymizer(key, 1).pseudonym(v))).toEqual(fresh.map((v) => Pseudonymizer.reference(key, v)));
  });

  it('the CNS/CPF shapes of the benchmark through the cache as shipped: hits, misses and the bypass agree', () => {
    const key = KEYS[1]![1];
    const p = new Pseudonymizer(key, 100);
    const rnd = prng(42);
    // Mostly new values first (the cache steps aside), then a small working set (the cache answers).
    const values = Array.from({ length: 3000 }, (_, i) => (i < 1500 ? String(10_000_000_000 + Math.floor(rnd() * 1e9)) : String(700_000_000_000_000 + Math.floor(rnd() * 60))));
    expect(values.map((v) => p.pseudonym(v))).toEqual(values.map((v) => Pseudonymizer.reference(key, v)));
  });

  it('different keys give different pseudonyms; a key is used as given (not padded to the same as a longer one)', () => {
    const v = '12345678909';
    const seen = new Set(KEYS.map(([, key]) => new Pseudonymizer(key).pseudonym(v)));
    expect(seen.size).toBe(KEYS.length);
    // HMAC pads a short key with zeros: K and K ‖ 0x00 are the same key (RFC 2104), and the hand-made one agrees.
    const k = Buffer.alloc(32, 5);
    expect(new Pseudonymizer(Buffer.concat([k, Buffer.alloc(1)])).pseudonym(v)).toBe(Pseudonymizer.reference(Buffer.concat([k, Buffer.alloc(1)]), v));
    expect(new Pseudonymizer(Buffer.concat([k, Buffer.alloc(1)])).pseudonym(v)).toBe(new Pseudonymizer(k).pseudonym(v));
  });
});
