import { Readable } from 'node:stream';
import { CsvRowTransform, type RowChunk } from '../../shared/extract/csv-rows';
import { createHmac } from 'node:crypto';
import { PSEUDONYM_LENGTH, PSEUDONYM_PATTERN } from '../../shared/contracts/tables';
import { Pseudonymizer } from '../../shared/extract/pseudonymizer';

const KEY = Buffer.alloc(32, 7);
const P = new Pseudonymizer(KEY);
const H = (v: string) => Pseudonymizer.reference(KEY, v);

/** Feed `input` split at every possible pair of chunk boundaries' worth of sizes. */
async function run(
  input: string,
  hashed: number,
  chunkSize: number,
  pseudonym: ConstructorParameters<typeof CsvRowTransform>[1] = (v) => P.pseudonym(v),
): Promise<{ text: string; rows: number; chunks: string[] }> {
  const bytes = Buffer.from(input, 'utf8');
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) pieces.push(bytes.subarray(i, i + chunkSize));
  const t = new CsvRowTransform(hashed, pseudonym);
  const out: RowChunk[] = [];
  for await (const c of Readable.from(pieces).pipe(t)) out.push(c as RowChunk);
  return { text: Buffer.concat(out.map((c) => c.data)).toString('utf8'), rows: out.reduce((n, c) => n + c.rows, 0), chunks: out.map((c) => c.data.toString()) };
}

const TRICKY = [
  '12345678909,"",1,plain\n',
  ',x,2,"multi\nline, with ""quotes"" and ; semicolon"\n',
  '"Conceição, ""a""",y,3,\\N\n',
  '98765432100,z,4,"ends with newline\n"\n',
].join('');

describe('CsvRowTransform', () => {
  it.each([1, 2, 3, 5, 7, 64, 100_000])('hashes leading fields and keeps every other byte (chunks of %i bytes)', async (size) => {
    const { text, rows, chunks } = await run(TRICKY, 1, size);
    expect(rows).toBe(4);
    expect(text).toBe(
      [
        `${H('12345678909')},"",1,plain\n`,
        ',x,2,"multi\nline, with ""quotes"" and ; semicolon"\n',
        `${H('Conceição, "a"')},y,3,\\N\n`,
        `${H('98765432100')},z,4,"ends with newline\n"\n`,
      ].join(''),
    );
    for (const c of chunks) expect(c.endsWith('\n')).toBe(true);
  });

  it('passes rows through untouched and counts them when nothing is hashed', async () => {
    for (const size of [1, 3, 16, 4096]) {
      const { text, rows } = await run(TRICKY, 0, size);
      expect(text).toBe(TRICKY);
      expect(rows).toBe(4);
    }
  });

  it('counts a row that opens its chunk with a quoted multi-line field as one row, when nothing is hashed', async () => {
    // The quote at offset 0 of the chunk (a row's first byte) must still open a field.
    const input = '"first\nline",1\n"a\nb\nc",2\n';
    for (const size of [4096, 13]) {
      const { text, rows } = await run(input, 0, size);
      expect([size, text, rows]).toEqual([size, input, 2]);
    }
  });

  it.each([1, 5, 64, 100_000])('writes pseudonyms straight into its output when given the Pseudonymizer (chunks of %i bytes)', async (size) => {
    // As the extractor calls it: cache hits, misses and a row cut by every chunk boundary give the reference bytes.
    const rows = Array.from({ length: 40 }, (_, i) => `${i % 7 === 0 ? '' : i % 5 === 0 ? '""' : ` 1234567890${i % 3} `},"c${i % 4}",${i},x\n`);
    const input = rows.join('');
    const expected = rows
      .map((r, i) => {
        const [a, b] = [i % 7 === 0 ? '' : i % 5 === 0 ? '""' : H(`1234567890${i % 3}`), H(`c${i % 4}`)];
        return `${a},${b},${r.split(',').slice(2).join(',')}`;
      })
      .join('');
    for (const p of [new Pseudonymizer(KEY), new Pseudonymizer(KEY, 1)]) {
      const { text, rows: n } = await run(input, 2, size, p);
      expect(n).toBe(40);
      expect(text).toBe(expected);
    }
  });

  it('keeps NULL and empty string apart in hashed fields', async () => {
    const { text } = await run(',1\n"",2\n', 1, 3);
    expect(text).toBe(',1\n"",2\n');
  });

  it('hashes several leading fields', async () => {
    const { text } = await run('a,"b,c",3\n', 2, 2);
    expect(text).toBe(`${H('a')},${H('b,c')},3\n`);
  });

  it('refuses a hashed field that is not followed by a separator, naming the field and the offset', async () => {
    await expect(run('"a"b,1\n', 1, 64)).rejects.toThrow('unexpected byte after field 1 at offset 3');
    await expect(run('x,"b"c,1\n', 2, 64)).rejects.toThrow('unexpected byte after field 2 at offset 5');
  });

  it('output larger than its buffer (one big chunk, a field larger than twice the buffer, multi-byte text) lands whole', async () => {
    // Many short hashed rows, then one row whose unhashed field alone is larger than twice the first output buffer.
    const many = Array.from({ length: 6000 }, (_, i) => `v${i},${i},"é, ""${i}"""\n`);
    const huge = `big,"${'ção'.repeat(60_000)}"\n`;
    // The huge row comes first too, while the buffer is still at its first size.
    const all = [huge, ...many, huge, ...many.slice(0, 10)];
    const input = all.join('');
    const hashedWith = (f: (v: string) => string) => all.map((r) => `${f(r.slice(0, r.indexOf(',')))}${r.slice(r.indexOf(','))}`).join('');
    for (const size of [input.length * 2, 70_000]) {
      const { text, rows } = await run(input, 1, size);
      expect(rows).toBe(6012);
      expect(text).toBe(hashedWith(H));
    }
    // The same through a pseudonym function writing multi-byte replacements (3 UTF-8 bytes per UTF-16 unit at most).
    const wide = (v: string) => `€${v}€`.repeat(40);
    expect((await run(input, 1, input.length * 2, wide)).text).toBe(hashedWith(wide));
  });

  it('an empty line is a row (a one-column row holding NULL), at the start of a chunk too', async () => {
    for (const size of [1, 2, 64]) expect(await run('\n\n"",x\n', 0, size)).toMatchObject({ text: '\n\n"",x\n', rows: 3 });
  });

  it('fails loudly when the stream ends inside a row', async () => {
    await expect(run('1,2\n3,"open', 0, 4)).rejects.toThrow('COPY output ended inside a row (7 bytes left)');
  });
});

describe('Pseudonymizer', () => {
  it('is the first 128 bits of HMAC-SHA-256 as 32 lower-case hex characters (pinned: every table, mart and tool depends on it)', () => {
    // Computed independently: printf 12345678909 | openssl dgst -sha256 -mac HMAC -macopt hexkey:0707…07 (32 bytes)
    expect(P.pseudonym('12345678909')).toBe('f2efb254b64433d46264df137362bfa2');
    expect(PSEUDONYM_LENGTH).toBe(32);
    for (const v of ['12345678909', 'JOÃO DA SILVA', 'x'.repeat(200)]) {
      const full = createHmac('sha256', KEY).update(v, 'utf8').digest('hex');
      expect(P.pseudonym(v)).toBe(full.slice(0, 32));
      expect(P.pseudonym(v)).toMatch(new RegExp(`^${PSEUDONYM_PATTERN}$`));
    }
    expect('F2EFB254B64433D46264DF137362BFA2').not.toMatch(new RegExp(`^${PSEUDONYM_PATTERN}$`));
    expect('f2efb254b64433d46264df137362bfa22d').not.toMatch(new RegExp(`^${PSEUDONYM_PATTERN}$`));
  });
  it('equals the truncated HMAC-SHA-256 and is stable across calls and instances', () => {
    for (const v of ['12345678909', ' 12345678909 ', 'JOÃO DA SILVA', '']) {
      expect(P.pseudonym(v)).toBe(H(v));
      expect(new Pseudonymizer(KEY, 1).pseudonym(v)).toBe(H(v));
    }
    expect(P.pseudonym('1')).not.toBe(new Pseudonymizer(Buffer.alloc(32, 8)).pseudonym('1'));
  });
  it('takes the long-value path (over 64 characters, multi-byte) and the cache bypass without changing a pseudonym', () => {
    const long = ['x'.repeat(65), 'Conceição '.repeat(20), '€'.repeat(64), '€'.repeat(22)];
    for (const v of long) expect(P.pseudonym(v)).toBe(H(v));
    // A tiny cache that never hits switches to direct hashing; results stay exact throughout.
    const small = new Pseudonymizer(KEY, 2);
    for (let i = 0; i < 50; i++) expect(small.pseudonym(`v${i}`)).toBe(H(`v${i}`));
  });
  it('writes the same 32 bytes through pseudonymInto, from the cache and without it, and nothing past them', () => {
    const p = new Pseudonymizer(KEY, 3);
    const out = Buffer.alloc(38, 0x2e);
    for (let round = 0; round < 3; round++)
      for (const v of ['a', 'b', 'c', 'd', ' a ']) {
        expect(p.pseudonymInto(v, out, 3)).toBe(32);
        expect(out.toString('latin1', 3, 35)).toBe(H(v));
        expect(out.toString('latin1', 0, 3) + out.toString('latin1', 35)).toBe('......');
      }
  });
  it('refuses a short key', () => {
    expect(() => new Pseudonymizer(Buffer.alloc(8))).toThrow(/32 bytes/);
  });
  it('a key longer than a SHA-256 block (64 bytes) is hashed first, as HMAC says', () => {
    for (const key of [Buffer.alloc(64, 3), Buffer.alloc(65, 3), Buffer.alloc(200, 9)])
      for (const v of ['12345678909', 'x'.repeat(70)]) expect(new Pseudonymizer(key).pseudonym(v)).toBe(Pseudonymizer.reference(key, v));
  });
  it('refuses a cache limit that is not a positive integer', () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) expect(() => new Pseudonymizer(KEY, limit)).toThrow('pseudonym cache limit must be a positive integer');
    expect(new Pseudonymizer(KEY, 1).pseudonym('a')).toBe(H('a'));
  });

  describe('with a leading set-aside field', () => {
    async function runAside(input: string, hashed: number, chunkSize: number) {
      const bytes = Buffer.from(input, 'utf8');
      const pieces: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += chunkSize) pieces.push(bytes.subarray(i, i + chunkSize));
      const described: string[] = [];
      const t = new CsvRowTransform(
        hashed,
        (v) => P.pseudonym(v),
        (d) => described.push(d),
      );
      const out: RowChunk[] = [];
      for await (const c of Readable.from(pieces).pipe(t)) out.push(c as RowChunk);
      return { text: Buffer.concat(out.map((c) => c.data)).toString('utf8'), rows: out.reduce((n, c) => n + c.rows, 0), described };
    }
    // As PostgreSQL writes it: NULL (conforming row) is an empty field, a description is quoted JSON.
    const desc = '[["7"], null, ["dt", "date_out_of_range", "0044-03-15 BC", 13]]';
    const quoted = `"${desc.replaceAll('"', '""')}"`;
    const INPUT = [`,12345678909,1,plain\n`, `${quoted},,2,"multi\nline ""q"", x"\n`, `,"",3,\n`, `${quoted},a,4,"é"\n`].join('');

    it.each([1, 2, 5, 13, 4096])('strips the field, hands over every description once, hashes the next fields (chunks of %i bytes)', async (size) => {
      const { text, rows, described } = await runAside(INPUT, 1, size);
      expect(rows).toBe(4);
      expect(text).toBe([`${H('12345678909')},1,plain\n`, `,2,"multi\nline ""q"", x"\n`, `"",3,\n`, `${H('a')},4,"é"\n`].join(''));
      expect(described).toEqual([desc, desc]);
      expect(JSON.parse(described[0]!)).toEqual([['7'], null, ['dt', 'date_out_of_range', '0044-03-15 BC', 13]]);
    });

    it.each([1, 3, 4096])('strips the field when nothing is hashed (chunks of %i bytes)', async (size) => {
      const { text, rows, described } = await runAside(INPUT, 0, size);
      expect(rows).toBe(4);
      expect(text).toBe([`12345678909,1,plain\n`, `,2,"multi\nline ""q"", x"\n`, `"",3,\n`, `a,4,"é"\n`].join(''));
      expect(described).toHaveLength(2);
    });

    // The extractor's sink writes the descriptions it holds before each chunk, and writes none after
    // the COPY: that is only complete if a chunk's descriptions are handed over before the chunk is.
    it.each([1, 7, 4096])('hands over the descriptions of a chunk before the chunk itself (chunks of %i bytes)', async (size) => {
      const bytes = Buffer.from(INPUT, 'utf8');
      const pieces: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
      let described = 0;
      const t = new CsvRowTransform(
        1,
        (v) => P.pseudonym(v),
        () => void described++,
      );
      let rows = 0;
      const seen: [number, number][] = [];
      t.on('data', (c: RowChunk) => {
        rows += c.rows;
        seen.push([rows, described]);
      });
      await new Promise<void>((resolve, reject) => Readable.from(pieces).pipe(t).on('end', resolve).on('error', reject));
      // INPUT's rows 2 and 4 carry a description: each must have arrived once its row has.
      for (const [r, d] of seen) expect(d).toBeGreaterThanOrEqual(Number(r >= 2) + Number(r >= 4));
      expect(seen.at(-1)).toEqual([4, 2]);
    });

    it('refuses a row whose set-aside field is not followed by a separator', async () => {
      await expect(runAside('"x"y,1\n', 0, 64)).rejects.toThrow('unexpected byte after the set-aside field at offset 3');
    });
  });
});
